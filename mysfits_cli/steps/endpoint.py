"""`mysfits deploy-endpoint`: model, endpoint config and endpoint for the latest completed training job."""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from .. import reference, ui
from ..engine import Change, Context, Record, delete_record, ensure, generated_name, is_pending
from ..errors import MysfitsError
from ..graph import Run
from ..instance_choice import check_instance_type, instance_type_for
from ..ml import textio
from ..ml.evaluate import EvaluationReport, evaluate
from ..ml.images import knn_image_uri
from ..options import RECORDIO, UpOptions
from ..resources.sagemaker import ENDPOINT_FINAL_FAILURES, Endpoint, EndpointConfig, Model
from .train import decode, timestamp

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


def evaluation(run: Run) -> EvaluationReport | None:
    """The test split through the endpoint, once per config it serves (`mysfits evaluate` runs it again)."""
    ctx, served = run.ctx, run["endpoint.endpoint"]
    if ctx.state.outputs.get("evaluated_config") == served["config"]:
        ui.report("done before", "`mysfits evaluate` runs it again")
        return None
    report = evaluate_endpoint(ctx, run.options.batches)
    show_report(report)
    ctx.state.set_output("evaluated_config", served["config"])
    ctx.state.set_output("accuracy", round(report.accuracy, 4))
    return report


def plan_evaluation(run: Run):
    served = run["endpoint.endpoint"] or {}
    done = run.ctx.state.outputs.get("evaluated_config") == served.get("config")
    return Change("unchanged" if done else "run"), None


# ---- evaluation -------------------------------------------------------------------------------

def read_test_split(ctx: Context) -> np.ndarray:
    """The test split `train` uploaded, read back from S3: rows of answers then label."""
    uri = ctx.state.outputs.get("test_data")
    if not uri:
        raise MysfitsError("No test split is recorded: run `mysfits train` first")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    content_type = ctx.state.outputs.get("test_content_type", RECORDIO)
    s3 = ctx.aws.client("s3")
    keys = sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    )
    if not keys:
        raise MysfitsError(f"The test split is gone from {uri}: run `mysfits train` again")
    parts = [decode(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), content_type) for key in keys]
    return np.concatenate(parts)


def endpoint_predictor(ctx: Context, name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Answers → predicted labels, through InvokeEndpoint (text/csv in, application/json out)."""
    runtime = ctx.aws.client("sagemaker-runtime")

    def predict(features: np.ndarray) -> np.ndarray:
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Accept="application/json", Body=textio.format_int_rows(features)
        )
        answer = json.loads(response["Body"].read())
        return np.array([prediction["predicted_label"] for prediction in answer["predictions"]], dtype=np.float64)

    return predict


def evaluate_endpoint(ctx: Context, batches: int = 100) -> EvaluationReport:
    name = ctx.state.outputs.get("endpoint_name")
    if not name:
        raise MysfitsError("No endpoint is deployed: run `mysfits deploy-endpoint` first")
    served_job = ctx.state.outputs.get("endpoint_training_job")
    split_job = ctx.state.outputs.get("test_data_job")
    if served_job and split_job and served_job != split_job:
        ui.warn(f"The test split belongs to training job {split_job}, but the endpoint serves {served_job}'s model: "
                "run `mysfits deploy-endpoint` to serve the newer model")
    rows = read_test_split(ctx)
    ui.step(f"Sending {len(rows):,} test rows through endpoint {name} (model of training job {served_job or 'unknown'}) "
            f"in {min(batches, len(rows))} requests")
    return evaluate(endpoint_predictor(ctx, name), rows, batches=batches,
                    bayes_optimal=ctx.state.outputs.get("bayes_optimal_accuracy"))


def show_report(report: EvaluationReport) -> None:
    known = {mysfit["label"]: mysfit for mysfit in reference.mysfits()}
    summary = [
        ("accuracy", f"{report.accuracy:.4f} ({report.correct:,} of {report.rows:,} test rows)"),
        (f"chance ({len(known)} mysfits)", f"{1 / len(known):.4f}"),
    ]
    if report.bayes_optimal is not None:
        summary.append(("Bayes-optimal bound", f"{report.bayes_optimal:.4f} (the best any model can expect on this data)"))
    summary += [
        ("latency per request", f"p50 {report.latency_p50_ms:.1f} ms, p99 {report.latency_p99_ms:.1f} ms ({report.batches} requests)"),
        ("throughput", f"{report.rows_per_second:,.0f} rows/s"),
    ]
    ui.table("Evaluation on the test split", ["", ""], summary)
    rows = []
    for item in report.per_mysfit:
        mysfit = known.get(item.label, {"name": f"label {item.label}", "species": "unknown"})
        recall = "" if item.recall is None else f"{item.recall:.3f}"
        rows.append((mysfit["name"], mysfit["species"], item.count, item.correct, recall, item.predicted))
    ui.table("Per mysfit", ["mysfit", "species", "test rows", "correct", "recall", "predicted"], rows)
