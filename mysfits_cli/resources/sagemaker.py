"""SageMaker: the notebook instance, training jobs, and the model / endpoint config / endpoint that serve one."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from .. import ui
from ..aws import describe_or_none
from ..engine import CREATING, Change, Context, Fix, Record, Resource
from ..errors import MysfitsError
from ..permissions import Permission, allow, pass_role, sagemaker_arn
from .iam import retry_until_role_usable

SAGEMAKER = "sagemaker.amazonaws.com"

NOTEBOOK_TIMEOUT = 1200
ENDPOINT_TIMEOUT = 1800


def _tagged_leftovers(
    ctx: Context, kind: str, operation: str, list_key: str, noun: str, contains: str, **filters: str
) -> list[Record]:
    """Resources listed by `operation` whose name contains `contains` and which carry the stack's tag."""
    client = ctx.aws.client("sagemaker")
    found = []
    for page in client.get_paginator(operation).paginate(NameContains=contains, **filters):
        for item in page[list_key]:
            if ctx.settings.is_ours(client.list_tags(ResourceArn=item[f"{noun}Arn"]).get("Tags", [])):
                name = item[f"{noun}Name"]
                found.append({"id": name, "name": name, "arn": item[f"{noun}Arn"], "kind": kind})
    return found


def _exists(call: Callable[..., Any], **kwargs: Any) -> str | None:
    return None if describe_or_none(call, **kwargs) is None else "EXISTS"


def _status_or_gone(ctx: Context, operation: str, field: str, **kwargs: Any) -> str | None:
    described = describe_or_none(getattr(ctx.aws.client("sagemaker"), operation), **kwargs)
    return None if described is None else described[field]


class NotebookInstance(Resource):
    kind = "notebook-instance"
    reads = ("sagemaker:DescribeNotebookInstance",)
    creates = ("sagemaker:CreateNotebookInstance", "sagemaker:AddTags")

    def __init__(self, key: str, name: str, role_arn: str, instance_type: str):
        super().__init__(key, name)
        self.role_arn = role_arn
        self.instance_type = instance_type

    def arn(self, ctx: Context) -> str:
        return sagemaker_arn(ctx, "notebook-instance", self.name)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        return super().permissions(ctx, change) + _passes_role(self.role_arn, change)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        described = _describe_notebook(ctx, self.name)
        if described is None or described["NotebookInstanceStatus"] == "Deleting":
            return None
        return _notebook_record(described)

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("sagemaker")
        retry_until_role_usable(
            lambda: client.create_notebook_instance(
                NotebookInstanceName=self.name, InstanceType=self.instance_type,
                RoleArn=self.role_arn, Tags=ctx.settings.tag_list(),
            ),
        )
        return _notebook_record(client.describe_notebook_instance(NotebookInstanceName=self.name))

    def wait(self, ctx: Context, record: Record) -> Record:
        client = ctx.aws.client("sagemaker")
        label = f"Notebook instance {self.name}"
        status = _wait_notebook(ctx, self.name, label, ready={"InService", "Stopped"})
        if status == "Stopped":
            ui.step(f"Starting notebook instance {self.name}")
            client.start_notebook_instance(NotebookInstanceName=self.name)
            _wait_notebook(ctx, self.name, label, ready={"InService"})
        return _notebook_record(client.describe_notebook_instance(NotebookInstanceName=self.name))

    def replacement(self, ctx: Context, record: Record) -> str | None:
        if record.get("instance_type") != self.instance_type:
            return (f"it runs on {record.get('instance_type')}, not {self.instance_type}; stop it and change its type "
                    "in the SageMaker console, or delete it and run `mysfits up notebook` again")
        if record.get("role_arn") not in (None, self.role_arn):
            return (f"it runs as {record['role_arn']}, not {self.role_arn}; stop it and change its IAM role in the "
                    "SageMaker console, or delete it and run `mysfits up notebook` again")
        return None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """Stop it (a running notebook instance cannot be deleted), then delete it and wait until it is gone."""
        client = ctx.aws.client("sagemaker")
        name = record["id"]
        label = f"Notebook instance {name}"
        # a notebook instance on its way somewhere (Pending, Stopping, ...) is let settle first
        status = _wait_notebook(ctx, name, label, final={"InService", "Stopped", "Failed", "GONE", "Deleting"})
        if status == "GONE":
            return "{label} was already gone"
        outcome = "{label} was already being deleted" if status == "Deleting" else None
        if status == "InService":
            ui.report("stopping")
            client.stop_notebook_instance(NotebookInstanceName=name)
            status = _wait_notebook(ctx, name, label, ready={"Stopped"}, final={"Failed", "GONE"})
        if status in {"Stopped", "Failed"}:
            client.delete_notebook_instance(NotebookInstanceName=name)
        _wait_notebook(ctx, name, label, final={"GONE"})
        return outcome

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return _status_or_gone(ctx, "describe_notebook_instance", "NotebookInstanceStatus", NotebookInstanceName=record["id"])

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = ctx.settings.name("notebook")
        described = _describe_notebook(ctx, name)
        return [{**_notebook_record(described), "kind": cls.kind}] if described else []


def _passes_role(role_arn: str, change: Change) -> list[Permission]:
    """iam:PassRole on the role a new notebook instance, training job or model runs as."""
    return [pass_role(role_arn, SAGEMAKER)] if change.action in CREATING else []


def _describe_notebook(ctx: Context, name: str) -> dict[str, Any] | None:
    return describe_or_none(ctx.aws.client("sagemaker").describe_notebook_instance, NotebookInstanceName=name)


def _wait_notebook(ctx: Context, name: str, label: str, ready: set[str] = frozenset(),
                   final: set[str] = frozenset()) -> str:
    """Until a status in `ready` (said with a check mark once waited for) or in `final` (quietly)."""
    def read() -> tuple[str, str | None]:
        described = _describe_notebook(ctx, name)
        if described is None:
            return "GONE", None
        return described["NotebookInstanceStatus"], described.get("FailureReason")

    failed = {"Failed"} - ready - final
    return ui.wait_for(label, read, ready=ready, failed=failed, final=final, timeout=NOTEBOOK_TIMEOUT,
                       interval=ctx.settings.poll_seconds)


def _notebook_record(described: dict[str, Any]) -> Record:
    return {
        "id": described["NotebookInstanceName"],
        "name": described["NotebookInstanceName"],
        "arn": described["NotebookInstanceArn"],
        "instance_type": described.get("InstanceType"),
        "role_arn": described.get("RoleArn"),
        "url": described.get("Url"),
    }


class TrainingJob(Resource):
    """One training job. Finished jobs cost nothing and cannot be deleted; teardown stops a running one."""

    kind = "training-job"
    reads = ("sagemaker:DescribeTrainingJob",)
    creates = ("sagemaker:CreateTrainingJob", "sagemaker:AddTags")

    def __init__(
        self,
        key: str,
        name: str,
        request: dict[str, Any],
        follow: Callable[[Context, Record], Record] | None = None,
        facts: Record | None = None,
    ):
        """`follow` waits for the job (None: do not wait); `facts` are kept in its record (data location, ...)."""
        super().__init__(key, name)
        self.request = request
        self.follow = follow
        self.facts = facts or {}

    def arn(self, ctx: Context) -> str:
        return sagemaker_arn(ctx, "training-job", self.name)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        return super().permissions(ctx, change) + _passes_role(self.request["RoleArn"], change)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        described = describe_or_none(ctx.aws.client("sagemaker").describe_training_job, TrainingJobName=self.name)
        return None if described is None else {**self.facts, **training_job_record(described)}

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("sagemaker")
        request = {**self.request, "TrainingJobName": self.name, "Tags": ctx.settings.tag_list()}
        retry_until_role_usable(lambda: client.create_training_job(**request))
        return {**self.facts, **training_job_record(client.describe_training_job(TrainingJobName=self.name))}

    def wait(self, ctx: Context, record: Record) -> Record:
        return self.follow(ctx, record) if self.follow else record

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """A running job is stopped; a finished one cannot be deleted (and costs nothing), so it is only forgotten."""
        client = ctx.aws.client("sagemaker")
        described = describe_or_none(client.describe_training_job, TrainingJobName=record["id"])
        if described is None:
            return "{label} was already gone"
        if described["TrainingJobStatus"] == "InProgress":
            client.stop_training_job(TrainingJobName=record["id"])
            return "Stopped {label}"
        return (f"Forgot {{label}}: {described['TrainingJobStatus'].lower()} jobs stay in SageMaker's history "
                "(they cannot be deleted, and cost nothing)")

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        described = describe_or_none(ctx.aws.client("sagemaker").describe_training_job, TrainingJobName=record["id"])
        if described is None:
            return None
        status = described["TrainingJobStatus"]
        return f"{status} ({described['SecondaryStatus']})" if status == "InProgress" else status

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        return _tagged_leftovers(
            ctx, cls.kind, "list_training_jobs", "TrainingJobSummaries", "TrainingJob", ctx.settings.name("knn-"),
            StatusEquals="InProgress",
        )


def training_job_record(described: dict[str, Any]) -> Record:
    record = {
        "id": described["TrainingJobName"],
        "name": described["TrainingJobName"],
        "arn": described["TrainingJobArn"],
        "status": described["TrainingJobStatus"],
    }
    artifact = (described.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if artifact and described["TrainingJobStatus"] == "Completed":
        record["model_artifact"] = artifact
    return record


class Model(Resource):
    kind = "model"
    reads = ("sagemaker:DescribeModel",)
    creates = ("sagemaker:CreateModel", "sagemaker:AddTags")

    def __init__(self, key: str, name: str, image: str, artifact: str, role_arn: str):
        super().__init__(key, name)
        self.image = image
        self.artifact = artifact
        self.role_arn = role_arn

    def arn(self, ctx: Context) -> str:
        return sagemaker_arn(ctx, "model", self.name)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        return super().permissions(ctx, change) + _passes_role(self.role_arn, change)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        described = describe_or_none(ctx.aws.client("sagemaker").describe_model, ModelName=self.name)
        return None if described is None else {"id": self.name, "arn": described["ModelArn"], "artifact": self.artifact}

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("sagemaker")
        created = retry_until_role_usable(
            lambda: client.create_model(
                ModelName=self.name,
                PrimaryContainer={"Image": self.image, "ModelDataUrl": self.artifact},
                ExecutionRoleArn=self.role_arn,
                Tags=ctx.settings.tag_list(),
            ),
        )
        return {"id": self.name, "arn": created["ModelArn"], "artifact": self.artifact}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        ctx.aws.client("sagemaker").delete_model(ModelName=record["id"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return _exists(ctx.aws.client("sagemaker").describe_model, ModelName=record["id"])

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        return _tagged_leftovers(ctx, cls.kind, "list_models", "Models", "Model", ctx.settings.name("knn-model-"))


class EndpointConfig(Resource):
    kind = "endpoint-config"
    reads = ("sagemaker:DescribeEndpointConfig",)
    creates = ("sagemaker:CreateEndpointConfig", "sagemaker:AddTags")

    def arn(self, ctx: Context) -> str:
        return sagemaker_arn(ctx, "endpoint-config", self.name)

    def __init__(self, key: str, name: str, model_name: str, instance_type: str, instance_count: int):
        super().__init__(key, name)
        self.model_name = model_name
        self.instance_type = instance_type
        self.instance_count = instance_count

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("sagemaker")
        described = describe_or_none(client.describe_endpoint_config, EndpointConfigName=self.name)
        return None if described is None else self._record(described["EndpointConfigArn"])

    def create(self, ctx: Context) -> Record:
        created = ctx.aws.client("sagemaker").create_endpoint_config(
            EndpointConfigName=self.name,
            ProductionVariants=[{
                "VariantName": "AllTraffic",
                "ModelName": self.model_name,
                "InitialInstanceCount": self.instance_count,
                "InstanceType": self.instance_type,
            }],
            Tags=ctx.settings.tag_list(),
        )
        return self._record(created["EndpointConfigArn"])

    def _record(self, arn: str) -> Record:
        return {
            "id": self.name, "arn": arn, "model": self.model_name,
            "instance_type": self.instance_type, "instance_count": self.instance_count,
        }

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        ctx.aws.client("sagemaker").delete_endpoint_config(EndpointConfigName=record["id"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return _exists(ctx.aws.client("sagemaker").describe_endpoint_config, EndpointConfigName=record["id"])

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        return _tagged_leftovers(
            ctx, cls.kind, "list_endpoint_configs", "EndpointConfigs", "EndpointConfig", ctx.settings.name("knn-config-")
        )


class Endpoint(Resource):
    """The endpoint; pointing it at another config updates it in place (UpdateEndpoint), with no downtime.

    An update that fails rolls back: the endpoint returns to InService on its old config with
    a FailureReason. That is a failure here too, and the old config and model keep serving.
    """

    kind = "endpoint"
    reads = ("sagemaker:DescribeEndpoint",)
    creates = ("sagemaker:CreateEndpoint", "sagemaker:AddTags")
    fixes = {"config": ("sagemaker:UpdateEndpoint",)}

    def __init__(self, key: str, name: str, config_name: str):
        super().__init__(key, name)
        self.config_name = config_name

    def arn(self, ctx: Context) -> str:
        return sagemaker_arn(ctx, "endpoint", self.name)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        """CreateEndpoint and UpdateEndpoint act on the endpoint config too (Service Authorization Reference)."""
        on_config = [p.action for p in super().permissions(ctx, change) if p.action in ("sagemaker:CreateEndpoint",
                                                                                         "sagemaker:UpdateEndpoint")]
        return super().permissions(ctx, change) + allow(on_config, sagemaker_arn(ctx, "endpoint-config", self.config_name))

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        described = _describe_endpoint(ctx, self.name)
        if described is None or described["EndpointStatus"] == "Deleting":
            return None
        return _endpoint_record(described)

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("sagemaker")
        client.create_endpoint(EndpointName=self.name, EndpointConfigName=self.config_name, Tags=ctx.settings.tag_list())
        return _endpoint_record(client.describe_endpoint(EndpointName=self.name))

    def wait(self, ctx: Context, record: Record) -> Record:
        return _wait_endpoint(ctx, self.name)

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        if record.get("config") == self.config_name:
            return {}
        return {"config": partial(self._update, ctx)}

    def _update(self, ctx: Context) -> Record:
        ui.step(f"Updating endpoint {self.name} to {self.config_name} (the old config serves until the new one is ready)")
        ctx.aws.client("sagemaker").update_endpoint(EndpointName=self.name, EndpointConfigName=self.config_name)
        record = _wait_endpoint(ctx, self.name)
        if record["config"] != self.config_name:
            raise MysfitsError(
                f"Endpoint {self.name} could not switch to {self.config_name} and rolled back to {record['config']}, "
                f"which still serves: {record.get('failure') or 'no reason given'}"
            )
        return record

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """SageMaker refuses to delete an endpoint that is being created or updated: wait for it first."""
        name = record["id"]
        status = (_describe_endpoint(ctx, name) or {}).get("EndpointStatus")
        if status == "Deleting":
            return "{label} was already being deleted"
        if status in ENDPOINT_IN_PROGRESS:
            _wait_endpoint_settled(ctx, name)
        ctx.aws.client("sagemaker").delete_endpoint(EndpointName=name)
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        described = _describe_endpoint(ctx, record["id"])
        if described is None:
            return None
        status = described["EndpointStatus"]
        if described.get("FailureReason") and status == "InService":
            return f"InService (last update failed: {described['FailureReason']})"
        return status

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        # Endpoint names carry no stack prefix (`knn-<instance type>-<time>`): the tag tells whose they are.
        return _tagged_leftovers(ctx, cls.kind, "list_endpoints", "Endpoints", "Endpoint", "knn-")


# Statuses an endpoint does not leave by itself (SageMaker's DescribeEndpoint).
ENDPOINT_FINAL_FAILURES = {"Failed", "OutOfService", "UpdateRollbackFailed"}
# Statuses it moves on from by itself, and in which it can be neither updated nor deleted.
ENDPOINT_IN_PROGRESS = {"Creating", "Updating", "SystemUpdating", "RollingBack"}


def _describe_endpoint(ctx: Context, name: str) -> dict[str, Any] | None:
    return describe_or_none(ctx.aws.client("sagemaker").describe_endpoint, EndpointName=name)


def _wait_endpoint(ctx: Context, name: str) -> Record:
    latest: dict[str, Any] = {}

    def read() -> tuple[str, str | None]:
        described = _describe_endpoint(ctx, name)
        if described is None:
            return "GONE", "deleted while waiting"
        latest.update(described)
        return described["EndpointStatus"], described.get("FailureReason")

    ui.wait_for(
        f"Endpoint {name}", read, ready={"InService"}, failed=ENDPOINT_FINAL_FAILURES | {"GONE"},
        timeout=ENDPOINT_TIMEOUT, interval=ctx.settings.poll_seconds,
    )
    return _endpoint_record(latest)


def _wait_endpoint_settled(ctx: Context, name: str) -> None:
    def read() -> tuple[str, str | None]:
        described = _describe_endpoint(ctx, name)
        return ("GONE", None) if described is None else (described["EndpointStatus"], described.get("FailureReason"))

    ui.wait_for(f"Endpoint {name} (to settle before deletion)", read, ready=set(),
                final={"InService", "GONE"} | ENDPOINT_FINAL_FAILURES, timeout=ENDPOINT_TIMEOUT,
                interval=ctx.settings.poll_seconds)


def _endpoint_record(described: dict[str, Any]) -> Record:
    record = {
        "id": described["EndpointName"],
        "name": described["EndpointName"],
        "arn": described["EndpointArn"],
        "config": described["EndpointConfigName"],
    }
    if described.get("FailureReason"):
        record["failure"] = described["FailureReason"]
    return record
