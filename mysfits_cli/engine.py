"""Resources that converge: find (by recorded id, then by name), else create; save; wait; converge.

Each kind of AWS resource is a `Resource` subclass in `mysfits_cli.resources`. Steps call
`ensure` for each resource in dependency order; `destroy` removes what the state records
(and the stack's leftovers found by name or tag) in teardown order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from . import ui
from .aws import Aws, is_not_found
from .config import Settings
from .errors import MysfitsError
from .state import StackState

Record = dict[str, Any]


@dataclass
class Context:
    settings: Settings
    aws: Aws
    state: StackState

    @property
    def stack(self) -> str:
        return self.settings.stack


class Resource(ABC):
    """One AWS resource with a deterministic name. Subclasses fill in the AWS calls."""

    kind: ClassVar[str]
    registry: ClassVar[dict[str, type["Resource"]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            Resource.registry[cls.kind] = cls

    def __init__(self, key: str, name: str):
        self.key = key
        self.name = name

    @abstractmethod
    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        """The live resource as a record, found by the recorded id first, then by name."""

    @abstractmethod
    def create(self, ctx: Context) -> Record:
        """Create the resource and return its record (id, arn, ...)."""

    def wait(self, ctx: Context, record: Record) -> Record:
        return record

    def converge(self, ctx: Context, record: Record) -> Record | None:
        """Bring a found resource in line with what is wanted; return the new record, or None if it already was."""
        return None

    @classmethod
    @abstractmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """Delete it; raising a not-found error counts as deleted."""

    @classmethod
    @abstractmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        """The live state, or None when the resource is gone."""

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        """Resources of this kind that belong to the stack (by name or tag), for teardown after a lost state."""
        return []


def ensure(ctx: Context, resource: Resource) -> Record:
    """Find or create one resource, record it at once, wait until it is usable, converge it."""
    record = resource.lookup(ctx, ctx.state.get(resource.key))
    if record is None:
        ui.step(f"Creating {resource.kind} {resource.name}")
        record = _tagged(resource, resource.create(ctx))
        ctx.state.put(resource.key, record)
    else:
        ctx.state.put(resource.key, _tagged(resource, record))
    record = _tagged(resource, resource.wait(ctx, record))
    ctx.state.put(resource.key, record)
    updated = resource.converge(ctx, record)
    if updated is not None:
        record = _tagged(resource, updated)
        ctx.state.put(resource.key, record)
    return record


def _tagged(resource: Resource, record: Record) -> Record:
    return {**record, "kind": resource.kind, "name": record.get("name", resource.name)}


# Teardown order: dependents before what they depend on.
TEARDOWN_ORDER = [
    "web-page",
    "rest-api",
    "lambda-permission",
    "lambda-function",
    "log-group",
    "endpoint",
    "endpoint-config",
    "model",
    "training-job",
    "s3-data",
    "s3-bucket",
    "notebook-instance",
    "codecommit-repository",
    "iam-role",
    "vpc-link",
]


def _rank(record: Record) -> int:
    kind = record.get("kind", "")
    return TEARDOWN_ORDER.index(kind) if kind in TEARDOWN_ORDER else -1


def destroy(
    ctx: Context, keys: list[str] | None = None, skip_kinds: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """Delete recorded resources (all, or `keys`) and, for a whole teardown, the stack's leftovers.

    Returns (resource, reason) for each failure; those stay in the state with their reason.
    """
    from .resources import load_all

    load_all()
    targets = [
        (key, record) for key, record in ctx.state.resources.items()
        if (keys is None or key in keys) and record.get("kind") not in skip_kinds
    ]
    if keys is None:
        known = {(r.get("kind"), r.get("id")) for _, r in targets}
        for kind, cls in Resource.registry.items():
            if kind in skip_kinds:
                continue
            for record in cls.leftovers(ctx):
                if (record["kind"], record["id"]) not in known:
                    targets.append((None, record))
                    known.add((record["kind"], record["id"]))
    targets.sort(key=lambda item: _rank(item[1]))
    failures: list[tuple[str, str]] = []
    for key, record in targets:
        label = f"{record['kind']} {record.get('name') or record.get('id')}"
        cls = Resource.registry.get(record["kind"])
        if cls is None:
            failures.append((label, "unknown kind in the state file"))
            continue
        try:
            ui.step(f"Deleting {label}")
            cls.delete(ctx, record)
        except MysfitsError as exc:
            failures.append((label, str(exc)))
            _keep_failure(ctx, key, record, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one failure must not stop the rest
            if not is_not_found(exc):
                failures.append((label, _one_line(exc)))
                _keep_failure(ctx, key, record, _one_line(exc))
                continue
        if key is not None:
            ctx.state.remove(key)
        ui.done(f"Deleted {label}")
    return failures


def _keep_failure(ctx: Context, key: str | None, record: Record, reason: str) -> None:
    if key is not None:
        ctx.state.put(key, {**record, "delete_error": reason})


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
