"""`mysfits deploy-endpoint`: model, endpoint config and endpoint for the latest completed training job."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..engine import Change, Context, Record, delete_record, ensure, generated_name, is_pending
from ..errors import MysfitsError
from ..graph import Run
from ..instance_choice import check_instance_type, instance_type_for
from ..ml.images import knn_image_uri
from ..options import UpOptions
from ..permissions import Permission, allow, sagemaker_arn
from ..resources.s3 import bucket_arn
from ..resources.sagemaker import ENDPOINT_FINAL_FAILURES, Endpoint, EndpointConfig, Model
from .notebook import data_bucket
from .train import timestamp

MODEL_KEY = "endpoint.model"
CONFIG_KEY = "endpoint.config"
ENDPOINT_KEY = "endpoint.endpoint"
DEFAULT_HOSTING_TYPE = "ml.m4.xlarge"
INSTANCE_TYPE_FLAG = "--instance-type (on `up`: --endpoint-instance-type)"


def endpoint_name(instance_type: str, stamp: str) -> str:
    """`knn-ml-m4-xlarge-<time>`, as the workshop's notebook names it."""
    return f"knn-{instance_type.replace('.', '-')}-{stamp}"


def model(run: Run) -> Model:
    ctx, job = run.ctx, run["train.job"]
    identity = {"artifact": job.get("model_artifact"), "job": job.get("id")}
    name = generated_name(ctx, MODEL_KEY, identity, lambda: ctx.settings.name(f"knn-model-{timestamp()}"))
    resource = Model(MODEL_KEY, name, job.get("image") or knn_image_uri(ctx.aws.region), identity["artifact"],
                     run["sagemaker.role"]["arn"])
    resource.identity = identity
    return resource


def _instance_type_choice(ctx: Context, options: UpOptions) -> tuple:
    recorded = ctx.state.get(CONFIG_KEY) or {}
    return (ctx, "hosting", options.endpoint_instance_type, recorded.get("instance_type"), DEFAULT_HOSTING_TYPE,
            INSTANCE_TYPE_FLAG)


def check_config(ctx: Context, options: UpOptions) -> None:
    check_instance_type(*_instance_type_choice(ctx, options))


def endpoint_config(run: Run) -> EndpointConfig:
    ctx, opts = run.ctx, run.options
    recorded = ctx.state.get(CONFIG_KEY) or {}
    instance_type = instance_type_for(*_instance_type_choice(ctx, opts))
    count = opts.endpoint_instance_count or recorded.get("instance_count") or 1
    identity = {"model": run["endpoint.model"]["name"], "instance_type": instance_type, "instance_count": count}
    name = generated_name(ctx, CONFIG_KEY, identity, lambda: ctx.settings.name(f"knn-config-{timestamp()}"))
    resource = EndpointConfig(CONFIG_KEY, name, identity["model"], instance_type, count)
    resource.identity = identity
    return resource


def endpoint(run: Run) -> Endpoint:
    """The stack's endpoint, updated in place to the config; a new one only when there is none."""
    ctx, config = run.ctx, run["endpoint.config"]
    recorded = ctx.state.get(ENDPOINT_KEY)
    name = recorded["name"] if recorded else endpoint_name(config["instance_type"], timestamp())
    return Endpoint(ENDPOINT_KEY, name, config["name"])


def bills(run: Run) -> tuple[str, str, int]:
    config = run["endpoint.config"]
    return "hosting", config["instance_type"], config["instance_count"]


def ensure_endpoint(run: Run) -> Record:
    ctx = run.ctx
    recorded = ctx.state.get(ENDPOINT_KEY)
    if recorded and not is_pending(recorded) and Endpoint.status(ctx, recorded) in ENDPOINT_FINAL_FAILURES:
        ui.warn(f"Endpoint {recorded['name']} is {Endpoint.status(ctx, recorded)}: deleting it and creating a new one")
        delete_record(ctx, ENDPOINT_KEY, recorded)
    record = ensure(ctx, endpoint(run))
    ctx.state.set_output("endpoint_name", record["name"])
    ctx.state.set_output("endpoint_training_job", (run["endpoint.model"].get("identity") or {}).get("job"))
    return record


def evaluation(run: Run) -> Any:
    """The test split through the endpoint, once per config it serves (`mysfits evaluate` runs it again)."""
    from .evaluation import evaluate_endpoint, show_report

    ctx, served = run.ctx, run["endpoint.endpoint"]
    if ctx.state.outputs.get("evaluated_config") == served["config"]:
        ui.report("done before", "`mysfits evaluate` runs it again")
        return None
    report = evaluate_endpoint(ctx, run.options.batches)
    show_report(report)
    ctx.state.set_output("evaluated_config", served["config"])
    ctx.state.set_output("accuracy", round(report.accuracy, 4))
    return report


def evaluation_permissions(run: Run, change: Change) -> list[Permission]:
    """Reading the test split back and sending it through the endpoint."""
    if change.action != "run":
        return []
    ctx = run.ctx
    uri = ctx.state.outputs.get("test_data") or f"s3://{data_bucket(ctx, run.options.bucket)}/{ctx.stack}/test/"
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return (allow(["sagemaker:InvokeEndpoint"], sagemaker_arn(ctx, "endpoint", run["endpoint.endpoint"]["name"]))
            + allow(["s3:ListBucket"], bucket_arn(ctx, bucket)) + allow(["s3:GetObject"], bucket_arn(ctx, bucket, f"{prefix}*")))


def plan_evaluation(run: Run):
    served = run["endpoint.endpoint"] or {}
    done = run.ctx.state.outputs.get("evaluated_config") == served.get("config")
    return Change("unchanged" if done else "run"), None
