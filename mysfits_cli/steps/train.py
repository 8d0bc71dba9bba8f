"""`mysfits train`: data set → seeded 90/10 split → RecordIO (or CSV) in S3 → a k-NN training job."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import ui
from ..engine import Context, Record, ensure
from ..errors import MysfitsError
from ..ml import dataset, recordio
from ..ml.images import knn_image_uri
from ..resources.s3 import Bucket, DataPrefix
from ..resources.sagemaker import TrainingJob, training_job_record
from .notebook import data_bucket, ensure_notebook_role

RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"
CONTENT_TYPES = (RECORDIO, CSV)
PREDICTOR_TYPES = ("classifier", "regressor")
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Time allowed on top of --max-runtime for SageMaker to find instances and pull the image.
STARTUP_ALLOWANCE = 1800


@dataclass(frozen=True)
class TrainOptions:
    data: Path | None = None
    rows: int = 1_000_000
    seed: int = 42
    bucket: str | None = None
    content_type: str = RECORDIO
    k: int = 10
    sample_size: int = 100_000
    predictor_type: str = "classifier"
    feature_dim: int | None = None
    instance_type: str = "ml.m5.2xlarge"
    instance_count: int = 1
    max_runtime: int = 3600
    wait: bool = True
    logs: bool = True

    def __post_init__(self) -> None:
        if self.content_type not in CONTENT_TYPES:
            raise MysfitsError(f"--content-type must be one of {', '.join(CONTENT_TYPES)}, not {self.content_type!r}")
        if self.predictor_type not in PREDICTOR_TYPES:
            raise MysfitsError(f"--predictor-type must be one of {', '.join(PREDICTOR_TYPES)}, not {self.predictor_type!r}")


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def load_rows(opts: TrainOptions) -> tuple[np.ndarray, float | None]:
    """The rows (answers, label) and, for generated data, the exact Bayes-optimal accuracy."""
    if opts.data is not None:
        rows = dataset.read_csv(opts.data)
        ui.done(f"Read {len(rows):,} rows from {opts.data}")
        return rows, None
    rows = dataset.generate(opts.rows, opts.seed)
    ui.done(f"Generated {len(rows):,} rows (seed {opts.seed})")
    return rows, dataset.bayes_optimal_accuracy()


def encode(rows: np.ndarray, content_type: str) -> bytes:
    features, labels = rows[:, :-1], rows[:, -1]
    if content_type == CSV:
        return recordio.encode_csv(features, labels)
    return recordio.encode(features.astype(np.float64), labels.astype(np.float64))


def decode(body: bytes, content_type: str) -> np.ndarray:
    """Rows (answers, label) back from what `encode` wrote."""
    features, labels = recordio.decode_csv(body) if content_type == CSV else recordio.decode(body)
    return np.column_stack([features, labels]).astype(np.int64)


def shards(rows: np.ndarray, count: int, content_type: str) -> dict[str, bytes]:
    extension = "csv" if content_type == CSV else "rec"
    return {
        f"part-{index:04d}-of-{count:04d}.{extension}": encode(part, content_type)
        for index, part in enumerate(np.array_split(rows, count))
    }


def _channel(name: str, uri: str, content_type: str, sharded: bool) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": content_type,
        "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix",
            "S3Uri": uri,
            "S3DataDistributionType": "ShardedByS3Key" if sharded else "FullyReplicated",
        }},
    }


def training_request(
    opts: TrainOptions, image: str, role_arn: str, bucket: str, prefix: str, feature_dim: int
) -> dict[str, Any]:
    return {
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "HyperParameters": {
            "feature_dim": str(feature_dim),
            "k": str(opts.k),
            "sample_size": str(opts.sample_size),
            "predictor_type": opts.predictor_type,
        },
        "InputDataConfig": [
            _channel("train", f"s3://{bucket}/{prefix}train/", opts.content_type, opts.instance_count > 1),
            _channel("test", f"s3://{bucket}/{prefix}test/", opts.content_type, False),
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}output"},
        "ResourceConfig": {"InstanceType": opts.instance_type, "InstanceCount": opts.instance_count, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": opts.max_runtime},
    }


class LogTail:
    """New lines of a training job's CloudWatch log streams (`<job>/...`), each line once."""

    def __init__(self, ctx: Context, job: str):
        self.client = ctx.aws.client("logs")
        self.job = job
        self.tokens: dict[str, str] = {}

    def new_lines(self) -> list[str]:
        try:
            pages = self.client.get_paginator("describe_log_streams").paginate(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job}/"
            )
            streams = sorted(s["logStreamName"] for page in pages for s in page["logStreams"])
        except self.client.exceptions.ResourceNotFoundException:
            return []  # SageMaker creates the group when the first job writes to it
        lines: list[str] = []
        for stream in streams:
            while True:
                kwargs = {"nextToken": self.tokens[stream]} if stream in self.tokens else {}
                page = self.client.get_log_events(
                    logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True, **kwargs
                )
                self.tokens[stream] = page["nextForwardToken"]
                lines.extend(event["message"] for event in page["events"])
                if not page["events"]:
                    break
        return lines


def follow_job(ctx: Context, record: Record, timeout: float, show_logs: bool) -> Record:
    """Wait for the job with a live line (status, secondary status, elapsed), printing its log lines as they come."""
    client = ctx.aws.client("sagemaker")
    name = record["id"]
    tail = LogTail(ctx, name) if show_logs else None
    latest: dict[str, Any] = {}

    def read() -> tuple[str, str | None]:
        latest.update(client.describe_training_job(TrainingJobName=name))
        status = latest["TrainingJobStatus"]
        return status, latest.get("FailureReason") if status == "Failed" else latest.get("SecondaryStatus")

    def print_logs() -> None:
        for line in tail.new_lines() if tail else []:
            ui.err.print(line, markup=False, highlight=False)

    try:
        ui.wait_for(
            f"Training job {name}", read, ready={"Completed"}, failed={"Failed", "Stopped"},
            timeout=timeout, interval=ctx.settings.poll_seconds, on_poll=print_logs,
        )
    finally:
        print_logs()  # the lines written between the last poll and the end
    return {**record, **training_job_record(latest)}


def show_metrics(described: dict[str, Any]) -> None:
    metrics = described.get("FinalMetricDataList") or []
    if metrics:
        ui.table("Final metrics", ["metric", "value"], [(m["MetricName"], f"{m['Value']:.4f}") for m in metrics])


def _job_key(name: str) -> str:
    return f"train.job.{name}"


def train(ctx: Context, opts: TrainOptions) -> Record:
    rows, bayes = load_rows(opts)
    feature_dim = rows.shape[1] - 1
    if opts.feature_dim is not None and opts.feature_dim != feature_dim:
        raise MysfitsError(f"--feature-dim {opts.feature_dim} does not match the data, whose rows have {feature_dim} answers")
    if opts.instance_count > 1 and len(rows) < 10 * opts.instance_count:
        raise MysfitsError(f"{len(rows)} rows are too few to shard over {opts.instance_count} instances")
    train_rows, test_rows = dataset.split(rows, opts.seed)
    ui.done(f"Split {len(train_rows):,} rows for training, {len(test_rows):,} for testing (seed {opts.seed})")

    bucket = data_bucket(ctx, opts.bucket)
    ensure(ctx, Bucket("train.bucket", bucket))
    prefix = f"{ctx.stack}/"
    ensure(ctx, DataPrefix("train.data.train", bucket, f"{prefix}train/", shards(train_rows, opts.instance_count, opts.content_type)))
    ensure(ctx, DataPrefix("train.data.test", bucket, f"{prefix}test/", shards(test_rows, 1, opts.content_type)))

    role = ensure_notebook_role(ctx, bucket)
    image = knn_image_uri(ctx.aws.region)
    name = ctx.settings.name(f"knn-{timestamp()}")
    facts = {"image": image, "role_arn": role["arn"], "bucket": bucket}
    request = training_request(opts, image, role["arn"], bucket, prefix, feature_dim)
    follow = partial(follow_job, timeout=opts.max_runtime + STARTUP_ALLOWANCE, show_logs=opts.logs) if opts.wait else None
    ui.step(f"Training job {name} on {opts.instance_count} x {opts.instance_type}")
    job = ensure(ctx, TrainingJob(_job_key(name), name, request, follow, facts))

    ctx.state.set_output("training_job", name)
    record_test_split(ctx, bucket, f"{prefix}test/", opts.content_type, bayes)
    if job["status"] == "Completed":
        ensure(ctx, DataPrefix("train.data.output", bucket, f"{prefix}output/", None))
        forget_finished_jobs(ctx, keep=name)
        show_metrics(ctx.aws.client("sagemaker").describe_training_job(TrainingJobName=name))
    return job


def record_test_split(ctx: Context, bucket: str, prefix: str, content_type: str, bayes: float | None) -> None:
    """Where `evaluate` finds the test split, and the best accuracy any model can reach on it (generated data only)."""
    ctx.state.set_output("test_data", f"s3://{bucket}/{prefix}")
    ctx.state.set_output("test_content_type", content_type)
    if bayes is None:
        ctx.state.drop_output("bayes_optimal_accuracy")
    else:
        ctx.state.set_output("bayes_optimal_accuracy", round(bayes, 6))


def forget_finished_jobs(ctx: Context, keep: str) -> None:
    """Drop older finished jobs from the state: they cost nothing and cannot be deleted, and `keep` supersedes them."""
    for key, record in list(ctx.state.resources.items()):
        if record.get("kind") == "training-job" and record["id"] != keep and record.get("status") in {"Completed", "Failed", "Stopped"}:
            ctx.state.remove(key)
