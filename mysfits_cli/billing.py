"""What the stack's running SageMaker instances cost: read from SageMaker, priced by `pricing`.

Only instances bill by the hour here: a notebook instance that runs, an endpoint that serves, a
training job in progress. Each is described as SageMaker has it (instance type, count, creation
time) and priced from the shipped table, or from live prices cached beside the state file once
`mysfits status --prices live` fetched them. A price the table does not have stays unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from . import pricing
from .aws import describe_or_none
from .engine import Context, Record
from .errors import MysfitsError

# Statuses in which the instances exist and bill (SageMaker's Describe* APIs).
NOTEBOOK_BILLING = {"Pending", "InService", "Updating", "Stopping"}
ENDPOINT_NOT_BILLING = {"Failed", "Deleting", "OutOfService"}
NOUNS = {"notebook-instance": "notebook instance", "endpoint": "endpoint", "training-job": "training job"}


@dataclass(frozen=True)
class Usage:
    """One running, billable resource: what it runs on and since when; its price once known."""

    kind: str
    name: str
    use: str  # pricing's use: notebook, hosting or training
    instance_type: str
    count: int
    since: datetime | None
    price: pricing.Price | None = None

    @property
    def label(self) -> str:
        return f"{NOUNS[self.kind]} {self.name}"

    @property
    def instances(self) -> str:
        return f"{self.count} × {self.instance_type}"

    def cost_so_far(self, now: datetime | None = None) -> float | None:
        if self.price is None or self.since is None:
            return None
        return pricing.since(self.price, self.since, now)

    def rate(self) -> str:
        return pricing.format_rate(self.price)

    def priced_instances(self) -> str:
        """'1 × ml.m5.xlarge at $0.23/h', or '1 × ml.t2.medium, price unknown'."""
        return f"{self.instances} at {self.rate()}" if self.price else f"{self.instances}, {pricing.UNKNOWN}"

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        cost = self.cost_so_far(now)
        return {
            "use": self.use, "instance_type": self.instance_type, "instance_count": self.count,
            "since": self.since.isoformat() if self.since else None,
            "usd_per_hour": None if self.price is None else round(self.price.usd_per_hour, 6),
            "usd_so_far": None if cost is None else round(cost, 6),
            "price_source": None if self.price is None else self.price.source,
        }


def _notebook(ctx: Context, record: Record) -> Usage | None:
    client = ctx.aws.client("sagemaker")
    described = describe_or_none(client.describe_notebook_instance, NotebookInstanceName=record["id"])
    if not described or described["NotebookInstanceStatus"] not in NOTEBOOK_BILLING:
        return None
    return Usage("notebook-instance", record["id"], "notebook", described["InstanceType"], 1,
                 described.get("CreationTime"))


def _endpoint(ctx: Context, record: Record) -> Usage | None:
    client = ctx.aws.client("sagemaker")
    described = describe_or_none(client.describe_endpoint, EndpointName=record["id"])
    if not described or described["EndpointStatus"] in ENDPOINT_NOT_BILLING:
        return None
    config = describe_or_none(client.describe_endpoint_config, EndpointConfigName=described["EndpointConfigName"])
    variants = (config or {}).get("ProductionVariants") or []
    if not variants or "InstanceType" not in variants[0]:
        return None  # serverless: billed per request, not per hour
    current = {v.get("VariantName"): v.get("CurrentInstanceCount") for v in described.get("ProductionVariants") or []}
    count = current.get(variants[0].get("VariantName")) or variants[0].get("InitialInstanceCount") or 1
    return Usage("endpoint", record["id"], "hosting", variants[0]["InstanceType"], int(count),
                 described.get("CreationTime"))


def _training_job(ctx: Context, record: Record) -> Usage | None:
    client = ctx.aws.client("sagemaker")
    described = describe_or_none(client.describe_training_job, TrainingJobName=record["id"])
    if not described or described["TrainingJobStatus"] != "InProgress":
        return None
    resources = described.get("ResourceConfig") or {}
    return Usage("training-job", record["id"], "training", resources.get("InstanceType", "unknown"),
                 int(resources.get("InstanceCount", 1)), described.get("TrainingStartTime") or described.get("CreationTime"))


READERS: dict[str, Callable[[Context, Record], Usage | None]] = {
    "notebook-instance": _notebook, "endpoint": _endpoint, "training-job": _training_job,
}


def billable(record: Record) -> bool:
    return record.get("kind") in READERS and "id" in record  # what the readers read


def usage(ctx: Context, record: Record) -> Usage | None:
    """The resource's running instances, or None when it does not bill by the hour (or is gone)."""
    return READERS[record["kind"]](ctx, record) if billable(record) else None


def bill_for(ctx: Context, records: Iterable[Record]) -> "Bill":
    """What the running ones among `records` cost, priced as `status` prices them."""
    usages = [u for record in records if (u := usage(ctx, record)) is not None]
    return Bill(priced(usages, ctx.aws.region, ctx.state.path.parent), stand_in=ctx.settings.stand_in)


def priced(usages: Iterable[Usage], region: str, cache_dir: Path | None) -> list[Usage]:
    """Each usage with its price: a live one cached in `cache_dir`, else the shipped table's, else unknown."""
    return [replace(u, price=pricing.hourly(u.use, u.instance_type, region, u.count, live_dir=cache_dir))
            for u in usages]


def refresh_live(ctx: Context, usages: list[Usage], cache_dir: Path) -> None:
    """Fetch live prices for what runs into the cache beside the state file."""
    if ctx.settings.local:
        raise MysfitsError("--prices live asks AWS's Price List API with your credentials, which the local cloud "
                           "never uses: the shipped prices apply here")
    for use in dict.fromkeys(u.use for u in usages):
        types = [u.instance_type for u in usages if u.use == use]
        pricing.refresh_live(ctx.aws.session, ctx.aws.region, types, [use], cache_dir)


@dataclass(frozen=True)
class Bill:
    """What a set of running resources costs per hour, and how sure that figure is."""

    usages: list[Usage]
    stand_in: str | None = None  # what stands in for AWS (the local cloud, a moto server): nothing bills there

    @property
    def known(self) -> list[Usage]:
        return [u for u in self.usages if u.price is not None]

    @property
    def unknown(self) -> list[Usage]:
        return [u for u in self.usages if u.price is None]

    @property
    def per_hour(self) -> float:
        return pricing.total_per_hour(u.price for u in self.usages)

    def so_far(self, now: datetime | None = None) -> float:
        return sum(cost for u in self.usages if (cost := u.cost_so_far(now)) is not None)

    def describe(self) -> str:
        """'notebook instance mysfits-notebook (1 × ml.t3.medium at $0.05/h); ...' for each usage."""
        return "; ".join(f"{u.label} ({u.priced_instances()})" for u in self.usages)

    def rate(self) -> str:
        """'$0.28/h', '$0.28/h plus 1 price unknown', or 'price unknown'."""
        if not self.known:
            return pricing.UNKNOWN
        text = pricing.format_rate(self.per_hour)
        return f"{text} plus {len(self.unknown)} price{'s' if len(self.unknown) > 1 else ''} unknown" if self.unknown else text

    def source(self) -> str:
        sources = sorted({pricing.table_source() if u.price.origin == "table" else u.price.source
                          for u in self.known}) or [pricing.table_source()]
        text = "; ".join(sources)
        if not self.stand_in:
            return text
        return f"{text}. {self.stand_in[0].upper()}{self.stand_in[1:]} bills nothing: these are the prices AWS would charge"

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "usd_per_hour": round(self.per_hour, 6), "usd_so_far": round(self.so_far(now), 6),
            "unknown_prices": [u.label for u in self.unknown], "source": self.source(), "billed": not self.stand_in,
        }


def now() -> datetime:
    return datetime.now(timezone.utc)
