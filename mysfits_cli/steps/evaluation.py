"""`mysfits evaluate`: the test split sent through the endpoint, and the report: accuracy, latency, per mysfit."""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from .. import reference, ui
from ..engine import Context
from ..errors import MysfitsError
from ..ml import textio
from ..ml.evaluate import EvaluationReport, evaluate
from ..options import RECORDIO
from .training_data import decode


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
