"""`mysfits deploy-endpoint`: model, endpoint config and endpoint for the latest completed training job."""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from .. import reference, ui
from ..aws import describe_or_none
from ..engine import Context, Record, destroy, ensure
from ..errors import MysfitsError
from ..ml import textio
from ..ml.evaluate import EvaluationReport, evaluate
from ..resources.sagemaker import Endpoint, EndpointConfig, Model, training_job_record
from .train import RECORDIO, decode, timestamp

ENDPOINT_KEY = "endpoint.endpoint"


def endpoint_name(instance_type: str, stamp: str) -> str:
    """`knn-ml-m4-xlarge-<time>`, as the workshop's notebook names it."""
    return f"knn-{instance_type.replace('.', '-')}-{stamp}"


def latest_completed_job(ctx: Context) -> Record:
    """The newest recorded training job that completed, its record refreshed from SageMaker."""
    client = ctx.aws.client("sagemaker")
    jobs = []
    for key, record in list(ctx.state.resources.items()):
        if record.get("kind") != "training-job":
            continue
        described = describe_or_none(client.describe_training_job, TrainingJobName=record["id"])
        if described is not None:
            record = {**record, **training_job_record(described)}
            ctx.state.put(key, record)
            jobs.append(record)
    jobs.sort(key=lambda job: job["id"])  # names end with the UTC time they were started
    completed = [job for job in jobs if job["status"] == "Completed" and job.get("model_artifact")]
    if completed:
        return completed[-1]
    running = [job for job in jobs if job["status"] == "InProgress"]
    if running:
        raise MysfitsError(
            f"Training job {running[-1]['id']} is still in progress: follow it with `mysfits status` "
            "and run `mysfits deploy-endpoint` again when it has completed"
        )
    raise MysfitsError("No completed training job is recorded: run `mysfits train` first")


def _recorded(ctx: Context, kind: str) -> dict[str, Record]:
    return {key: record for key, record in ctx.state.resources.items() if record.get("kind") == kind}


def _serving_pair(ctx: Context, artifact: str, instance_type: str, instance_count: int) -> tuple[str, str] | None:
    """Keys of a recorded model and config that already serve `artifact` as asked, so a re-run changes nothing."""
    models = _recorded(ctx, "model")
    for config_key, config in _recorded(ctx, "endpoint-config").items():
        if (config.get("instance_type"), config.get("instance_count")) != (instance_type, instance_count):
            continue
        for model_key, model in models.items():
            if model["id"] == config.get("model") and model.get("artifact") == artifact:
                return model_key, config_key
    return None


def _endpoint_to_update(ctx: Context) -> str | None:
    """The recorded endpoint's name if it can be updated in place; a failed one is deleted first."""
    recorded = ctx.state.get(ENDPOINT_KEY)
    if not recorded:
        return None
    live = Endpoint.status(ctx, recorded)
    if live == "Failed":
        ui.warn(f"Endpoint {recorded['id']} has failed; deleting it and creating a new one")
        destroy(ctx, keys=[ENDPOINT_KEY])
        return None
    return recorded["id"] if live not in (None, "Deleting") else None


def deploy_endpoint(ctx: Context, instance_type: str, instance_count: int) -> Record:
    job = latest_completed_job(ctx)
    ui.step(f"Deploying the model of training job {job['id']}")
    stamp = timestamp()
    reuse = _serving_pair(ctx, job["model_artifact"], instance_type, instance_count)
    if reuse:
        model_key, config_key = reuse
        model_name, config_name = ctx.state.get(model_key)["id"], ctx.state.get(config_key)["id"]
    else:
        model_key, config_key = f"endpoint.model.{stamp}", f"endpoint.config.{stamp}"
        model_name, config_name = ctx.settings.name(f"knn-model-{stamp}"), ctx.settings.name(f"knn-config-{stamp}")
    superseded = {**_recorded(ctx, "model"), **_recorded(ctx, "endpoint-config")}
    stale = [key for key in superseded if key not in (model_key, config_key)]

    ensure(ctx, Model(model_key, model_name, job["image"], job["model_artifact"], job["role_arn"]))
    ensure(ctx, EndpointConfig(config_key, config_name, model_name, instance_type, instance_count))
    name = _endpoint_to_update(ctx) or endpoint_name(instance_type, stamp)
    endpoint = ensure(ctx, Endpoint(ENDPOINT_KEY, name, config_name))
    ctx.state.set_output("endpoint_name", name)

    # Only once the endpoint serves the new config may the old ones go.
    for label, reason in destroy(ctx, keys=stale):
        ui.warn(f"Could not delete the superseded {label}: {reason}")
    return endpoint


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
    rows = read_test_split(ctx)
    ui.step(f"Sending {len(rows):,} test rows through endpoint {name} in {min(batches, len(rows))} requests")
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
