"""The SageMaker built-in k-NN algorithm image of each region (from knn-image-registries.json)."""

from __future__ import annotations

from mysfits_cli import reference
from mysfits_cli.errors import MysfitsError


def _table() -> dict:
    return reference.load("knn-image-registries.json")


def knn_image_uri(region: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/knn:1`` for `region`."""
    table = _table()
    account = table["registries"].get(region)
    if account is None or region.startswith("us-iso"):
        supported = sorted(r for r in table["registries"] if not r.startswith("us-iso"))
        reason = "is an isolated partition this tool does not support" if account else "is not in the table"
        raise MysfitsError(
            f"no SageMaker k-NN image for region {region!r}: it {reason}. "
            f"Supported regions (knn-image-registries.json): {', '.join(supported)}"
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{table['repository']}:{table['tag']}"
