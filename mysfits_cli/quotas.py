"""Whether the account's SageMaker quotas leave room for what `up` would start.

SageMaker limits, per account and region, how many instances of each type may run for each
use: `<type> for notebook instance usage`, `for training job usage`, `for endpoint usage`. A
create that would go over is refused (ResourceLimitExceeded). Here each quota the plan needs
is compared with what already runs in the account and region — notebook instances that are
not stopped, training jobs in progress, the variants of endpoints that are up or on their way
(an endpoint being updated runs its old and its new instances) — and with what `up` would add.
A quota short of room names the request that raises it and the nearest type that has room.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from . import instance_types
from .aws import describe_or_none
from .billing import ENDPOINT_NOT_BILLING, NOTEBOOK_BILLING
from .service_quotas import SERVICE_CODE, Quota, ServiceQuotas

if TYPE_CHECKING:
    from .engine import Context

# How Service Quotas names SageMaker's instance quotas, by pricing's use.
USAGE = {"notebook": "notebook instance usage", "training": "training job usage", "hosting": "endpoint usage"}
READERS = 8  # describe calls in flight at once when counting what runs


def quota_name(use: str, instance_type: str) -> str:
    """`ml.m4.xlarge for endpoint usage`."""
    return f"{instance_type} for {USAGE[use]}"


@dataclass
class QuotaLine:
    """One quota the plan needs: how many instances it adds, how many run already, and the quota."""

    use: str
    instance_type: str
    needed: int
    needed_by: list[str]
    in_use: int = 0
    quota: Quota | None = None
    instead: str | None = None  # the nearest type with room, when this one has none
    unchecked: str | None = None  # why this quota could not be found

    @property
    def name(self) -> str:
        return quota_name(self.use, self.instance_type)

    @property
    def short(self) -> bool:
        return self.quota is not None and self.in_use + self.needed > self.quota.value

    @property
    def desired(self) -> int:
        """The value the quota needs for this to fit."""
        return self.in_use + self.needed

    def as_json(self) -> dict[str, Any]:
        quota = self.quota
        return {
            "name": self.name, "code": quota.code if quota else None, "use": self.use,
            "instance_type": self.instance_type, "needed": self.needed, "in_use": self.in_use,
            "applied": None if quota is None or quota.default else quota.limit,
            "default": quota.limit if quota is not None and quota.default else None,
            "ok": None if quota is None else not self.short, "instead": self.instead,
            "needed_by": self.needed_by, "unchecked": self.unchecked,
        }


@dataclass
class QuotaCheck:
    lines: list[QuotaLine] = field(default_factory=list)
    unchecked: str | None = None  # why Service Quotas, or what runs, could not be read

    @property
    def short(self) -> list[QuotaLine]:
        return [line for line in self.lines if line.short]


def check(ctx: "Context", needs: Iterable[tuple[str, str, int, str]]) -> QuotaCheck:
    """`needs`: (use, instance type, instances it adds, what adds them). Never raises: what it
    could not read is said in `unchecked`."""
    lines: dict[tuple[str, str], QuotaLine] = {}
    for use, instance_type, count, title in needs:
        line = lines.setdefault((use, instance_type), QuotaLine(use, instance_type, 0, []))
        line.needed += count
        line.needed_by.append(title)
    result = QuotaCheck(list(lines.values()))
    if not result.lines:
        return result
    try:
        quotas = ServiceQuotas(ctx)
        running = in_use(ctx, {line.use for line in result.lines})
        for line in result.lines:
            line.in_use = running[(line.use, line.instance_type)]
            line.quota = quotas.find(line.name)
            if line.quota is None:
                line.unchecked = f"Service Quotas has no quota named '{line.name}'"
            elif line.short:
                line.quota = quotas.fresh(line.quota)  # what stops a command is never read from the cache
        for line in result.short:
            line.instead = nearest_with_room(ctx, quotas, running, line)
    except Exception as exc:  # noqa: BLE001 - a forecast that cannot be made never blocks
        from .failures import describe

        for line in result.lines:
            line.quota = line.instead = None
        result.unchecked = describe(exc)
    return result


def nearest_with_room(ctx: "Context", quotas: ServiceQuotas, running: Counter, line: QuotaLine) -> str | None:
    """The nearest type (as the region's types are chosen, `instance_types.nearest_where`) whose quota has room."""

    def has_room(instance_type: str) -> bool:
        quota = quotas.find(quota_name(line.use, instance_type))
        return quota is not None and running[(line.use, instance_type)] + line.needed <= quota.value

    return instance_types.nearest_where(line.use, line.instance_type, ctx.aws.region, has_room)


def request_command(ctx: "Context", line: QuotaLine) -> str:
    """The AWS CLI command that asks for the quota to be raised to what this needs."""
    endpoint = f" --endpoint-url {ctx.settings.endpoint_url}" if ctx.settings.endpoint_url else ""
    code = line.quota.code if line.quota else "<code>"
    return (f"aws service-quotas request-service-quota-increase --service-code {SERVICE_CODE} --quota-code {code} "
            f"--desired-value {line.desired} --region {ctx.aws.region}{endpoint}")


# ---- what runs now ------------------------------------------------------------------------------


def in_use(ctx: "Context", uses: set[str]) -> Counter:
    """Instances running in this account and region, by (use, instance type), for the uses asked about."""
    client = ctx.aws.client("sagemaker")
    running: Counter = Counter()
    if "notebook" in uses:
        for page in client.get_paginator("list_notebook_instances").paginate():
            for notebook in page["NotebookInstances"]:
                if notebook["NotebookInstanceStatus"] in NOTEBOOK_BILLING:
                    running[("notebook", notebook["InstanceType"])] += 1
    readers = []
    if "training" in uses:
        jobs = [job["TrainingJobName"] for page in client.get_paginator("list_training_jobs").paginate(
            StatusEquals="InProgress") for job in page["TrainingJobSummaries"]]
        readers += [lambda name=name: _training_instances(client, name) for name in jobs]
    if "hosting" in uses:
        endpoints = [endpoint["EndpointName"] for page in client.get_paginator("list_endpoints").paginate()
                     for endpoint in page["Endpoints"] if endpoint["EndpointStatus"] not in ENDPOINT_NOT_BILLING]
        readers += [lambda name=name: _endpoint_instances(client, name) for name in endpoints]
    if readers:
        with ThreadPoolExecutor(READERS) as pool:
            for found in pool.map(lambda read: read(), readers):
                running.update(found)
    return running


def _training_instances(client: Any, name: str) -> Counter:
    described = describe_or_none(client.describe_training_job, TrainingJobName=name) or {}
    if described.get("TrainingJobStatus") != "InProgress":
        return Counter()
    config = described.get("ResourceConfig") or {}
    groups = config.get("InstanceGroups") or [config]
    return Counter({("training", group["InstanceType"]): int(group.get("InstanceCount", 1))
                    for group in groups if group.get("InstanceType")})


def _endpoint_instances(client: Any, name: str) -> Counter:
    """Its config's instances, and while it is updated, those of the config it moves to (both fleets run)."""
    described = describe_or_none(client.describe_endpoint, EndpointName=name)
    if not described or described["EndpointStatus"] in ENDPOINT_NOT_BILLING:
        return Counter()
    found: Counter = Counter()
    current = {v.get("VariantName"): v.get("CurrentInstanceCount") for v in described.get("ProductionVariants") or []}
    config = describe_or_none(client.describe_endpoint_config, EndpointConfigName=described["EndpointConfigName"])
    for variant in (config or {}).get("ProductionVariants") or []:
        if variant.get("InstanceType"):  # serverless variants run on no instance of ours
            count = current.get(variant.get("VariantName")) or variant.get("InitialInstanceCount") or 1
            found[("hosting", variant["InstanceType"])] += int(count)
    for variant in (described.get("PendingDeploymentSummary") or {}).get("ProductionVariants") or []:
        if variant.get("InstanceType"):
            found[("hosting", variant["InstanceType"])] += int(variant.get("DesiredInstanceCount") or 1)
    return found
