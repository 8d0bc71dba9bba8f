"""Which SageMaker instance types each region offers, from `data/sagemaker-instance-types.json`.

Older families (ml.t2, ml.m4, ml.c4) are not offered in newer regions; the table says
which families each region offers for notebook instances, training and hosting, and
names its sources and date. It covers the ml.t2/t3, ml.m4/m5 and ml.c4/c5 families:
types of other families, and regions it does not list, are not known to be refused.

    offered("notebook", "ml.t2.medium", "il-central-1")   -> False
    suggest("notebook", "ml.t2.medium", "il-central-1")   -> "ml.t3.medium"
    suggest("hosting", "ml.m4.xlarge", "us-east-1")        -> "ml.m4.xlarge"
"""

from __future__ import annotations

from typing import Any, Callable

from .reference import load

USES = ("notebook", "training", "hosting")
DATA_FILE = "sagemaker-instance-types.json"


def _table() -> dict[str, Any]:
    return load(DATA_FILE)


def family(instance_type: str) -> str:
    """`ml.m4.xlarge` -> `ml.m4`."""
    return instance_type.rsplit(".", 1)[0]


def _size_rank(instance_type: str) -> float:
    """Sizes in order: medium < large < xlarge < 2xlarge < ... < 24xlarge."""
    size = instance_type.rsplit(".", 1)[-1]
    named = {"medium": 0.25, "large": 0.5, "xlarge": 1.0}
    if size in named:
        return named[size]
    try:
        return float(size.removesuffix("xlarge"))
    except ValueError:
        return 0.0


def _check_use(use: str) -> None:
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")


def covered(instance_type: str) -> bool:
    """Whether the table knows the type's family."""
    return family(instance_type) in _table()["families"]


def families() -> list[str]:
    """The families the table covers, in its order."""
    return list(_table()["families"])


def types_for(use: str, instance_family: str) -> list[str]:
    """The family's types SageMaker accepts for `use`, smallest first."""
    _check_use(use)
    return list(_table()["families"].get(instance_family, {}).get("types", {}).get(use, []))


def offered(use: str, instance_type: str, region: str) -> bool:
    """Whether `region` offers `instance_type` for `use` (notebook, training or hosting).

    Types outside the covered families, and regions the table does not list, count as
    offered: the table only knows which of its own families each region lacks.
    """
    _check_use(use)
    if not covered(instance_type):
        return True
    if instance_type not in types_for(use, family(instance_type)):
        return False
    regions = _table()["regions"]
    return region not in regions or family(instance_type) in regions[region][use]


def nearest(wanted: str, candidates: list[str]) -> str | None:
    """The candidate nearest to `wanted`: the smallest size at least as large as the wanted one
    (the largest there is, if none is); among equal sizes, the first given."""
    if not candidates:
        return None
    larger = [t for t in candidates if _size_rank(t) >= _size_rank(wanted)]
    return min(larger, key=_size_rank) if larger else max(candidates, key=_size_rank)


def suggest(use: str, wanted: str, region: str) -> str | None:
    """`wanted` if the region offers it, else the nearest offered type of its family's successor.

    None when the family has no successor offered for `use`.
    """
    if offered(use, wanted, region):
        return wanted
    successor = _table()["families"].get(family(wanted), {}).get("successor")
    return nearest(wanted, [t for t in types_for(use, successor) if offered(use, t, region)] if successor else [])


def nearest_where(use: str, wanted: str, region: str, acceptable: Callable[[str], bool]) -> str | None:
    """The nearest type (as `nearest` orders them) the region offers for `use` and `acceptable` accepts,
    other than `wanted`: its own family first, then its successor, then the table's other families.

    For a type the account has no quota for, `acceptable` says which types it has quota for.
    """
    known = families()
    successor = _table()["families"].get(family(wanted), {}).get("successor")
    preferred = [f for f in (family(wanted), successor) if f in known]
    ordered = preferred + [f for f in known if f not in preferred]
    candidates = [t for f in ordered for t in types_for(use, f)
                  if t != wanted and offered(use, t, region) and acceptable(t)]
    return nearest(wanted, candidates)


def source() -> str:
    """Where the table comes from and when, for messages and documentation."""
    table = _table()
    return f"{DATA_FILE} (retrieved {table['retrieved']})"
