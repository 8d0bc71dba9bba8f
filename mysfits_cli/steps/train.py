"""`mysfits train`: data set → seeded 90/10 split → RecordIO (or CSV) in S3 → a k-NN training job."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .. import ui
from ..aws import describe_or_none
from ..engine import Change, Context, Record, Unknown, ensure, generated_name, is_pending
from ..errors import MysfitsError, OptionError
from ..graph import Run
from ..instance_choice import check_instance_type, instance_type_for
from ..ml import sizes
from ..ml.images import knn_image_uri
from ..options import RECORDIO, TrainOptions, UpOptions
from ..permissions import Permission, allow
from ..resources.iam import is_role_settling_message
from ..resources.s3 import Bucket, DataPrefix
from ..resources.sagemaker import TrainingJob, training_job_record
from .notebook import data_bucket

DEFAULT_TRAINING_TYPE = "ml.m5.2xlarge"
INSTANCE_TYPE_FLAG = "--instance-type (on `up`: --training-instance-type)"
FEATURE_DIM = 5  # every row is five answers and a label (ml.dataset.N_QUESTIONS)

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Time allowed on top of --max-runtime for SageMaker to find instances and pull the image.
STARTUP_ALLOWANCE = 1800
BUCKET_KEY = "train.bucket"
DATA_KEY = "train.data"
JOB_KEY = "train.job"
OUTPUT_KEY = "train.output"
DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 42
FINISHED = {"Completed", "Failed", "Stopped"}
# A job that failed to assume a new role is started again after this long: IAM spreads a role in seconds.
ROLE_RETRY_DELAY = 10.0


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


@dataclass(frozen=True)
class TrainingSpec:
    """Everything that makes a training job the one wanted: its data and every setting. Comparable with `==`."""

    data: dict[str, Any]  # {"file": path, "sha256": ...} or {"rows": n} (generated)
    seed: int
    content_type: str
    k: int
    sample_size: int
    predictor_type: str
    instance_type: str
    instance_count: int
    max_runtime: int

    def as_record(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def data_source(self) -> dict[str, Any]:
        """What the uploaded objects are: the data, its split and its encoding."""
        return {"data": self.data, "seed": self.seed, "content_type": self.content_type,
                "shards": self.instance_count}

    def changes_from(self, recorded: dict[str, Any]) -> list[str]:
        mine = self.as_record()
        return [f"{key} {_short(recorded.get(key))} → {_short(mine[key])}" for key in mine if recorded.get(key) != mine[key]]

    def describe(self) -> str:
        """The settings a user chooses, as `plan` shows them: 'k 10, sample size 100,000, on 20,000 generated rows'."""
        csv = ", as CSV" if self.content_type != RECORDIO else ""
        return (f"k {self.k}, sample size {self.sample_size:,}, {self.predictor_type}, on {_short(self.data)}"
                f" (seed {self.seed}){csv}")


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("file") or f"{value.get('rows', '?'):,} generated rows"
    return str(value)


def resolve_spec(ctx: Context, opts: TrainOptions) -> TrainingSpec:
    """Each setting as asked, else as the stack's last training job had it, else the workshop's."""
    recorded = ((ctx.state.get(JOB_KEY) or {}).get("identity") or {})
    if opts.feature_dim is not None and opts.feature_dim != FEATURE_DIM:
        raise MysfitsError(f"--feature-dim {opts.feature_dim} does not match the data, whose rows have {FEATURE_DIM} answers")

    def pick(name: str, asked: Any, default: Any) -> Any:
        return asked if asked is not None else recorded.get(name, default)

    if opts.data is not None:
        from ..ml.dataset import file_sha256

        data: dict[str, Any] = {"file": str(opts.data), "sha256": file_sha256(opts.data)}
    elif opts.rows is not None or "file" not in recorded.get("data", {}):
        data = {"rows": opts.rows if opts.rows is not None else recorded.get("data", {}).get("rows", DEFAULT_ROWS)}
    else:
        data = recorded["data"]  # the file trained on last time: its data is in S3 already
    spec = TrainingSpec(
        data=data,
        seed=pick("seed", opts.seed, DEFAULT_SEED),
        content_type=pick("content_type", opts.content_type, RECORDIO),
        k=pick("k", opts.k, 10),
        sample_size=pick("sample_size", opts.sample_size, 100_000),
        predictor_type=pick("predictor_type", opts.predictor_type, "classifier"),
        instance_type=instance_type_for(ctx, "training", opts.instance_type, recorded.get("instance_type"),
                                        DEFAULT_TRAINING_TYPE, INSTANCE_TYPE_FLAG),
        instance_count=pick("instance_count", opts.instance_count, 1),
        max_runtime=pick("max_runtime", opts.max_runtime, 3600),
    )
    return spec


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
    opts: TrainingSpec, image: str, role_arn: str, bucket: str, prefix: str, feature_dim: int
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
            ui.plain(line)

    try:
        ui.wait_for(
            f"Training job {name}", read, ready={"Completed"}, final=FINISHED, timeout=timeout,
            interval=ctx.settings.poll_seconds, on_poll=print_logs,
        )
    finally:
        print_logs()  # the lines written between the last poll and the end
    return {**record, **training_job_record(latest), "failure": latest.get("FailureReason")}


def show_metrics(described: dict[str, Any]) -> None:
    metrics = described.get("FinalMetricDataList") or []
    if metrics:
        ui.table("Final metrics", ["metric", "value"], [(m["MetricName"], f"{m['Value']:.4f}") for m in metrics])


# ---- the graph's nodes ---------------------------------------------------------------------------


def bucket(run: Run) -> Bucket:
    return Bucket(BUCKET_KEY, data_bucket(run.ctx, run.options.bucket))


def training_data(run: Run) -> DataPrefix:
    """The seeded split, encoded, under `<stack>/train/` and `<stack>/test/`; made only when it must be uploaded."""
    ctx, opts = run.ctx, run.options.train
    spec = resolve_spec(ctx, opts)
    prefix = f"{ctx.stack}/"

    def objects() -> dict[str, bytes]:
        from .training_data import split_objects

        return split_objects(spec, prefix)

    bucket_name = run["train.bucket"]["id"]
    return DataPrefix(DATA_KEY, bucket_name, [f"{prefix}train/", f"{prefix}test/"], objects, spec.data_source)


def check_job(ctx: Context, options: UpOptions) -> None:
    """The training instance type, and k against the points k-NN will sample, before anything is created."""
    recorded = ((ctx.state.get(JOB_KEY) or {}).get("identity") or {})
    check_instance_type(ctx, "training", options.train.instance_type, recorded.get("instance_type"),
                        DEFAULT_TRAINING_TYPE, INSTANCE_TYPE_FLAG)
    check_neighbours(ctx, options.train, resolve_spec(ctx, options.train))


def check_neighbours(ctx: Context, opts: TrainOptions, spec: TrainingSpec) -> None:
    """k-NN votes with k neighbours among the points it samples (sample_size of the training rows): k must fit.

    A k that does not is refused here, naming the option to change, rather than by a training job that bills.
    """
    rows = _row_count(spec)
    training = sizes.training_rows(rows)
    sampled = sizes.sampled_points(training, spec.sample_size)
    if spec.k <= sampled:
        return
    recorded = (ctx.state.get(JOB_KEY) or {}).get("identity") or {}
    k = _setting("--k", "k", opts.k, spec.k, recorded.get("k"))
    if opts.k is None and recorded.get("k") is not None:
        k += ","  # "k 10, kept from the stack's last training job, is more than ..."
    share = f"the {1 - sizes.TEST_FRACTION:.0%} of"
    if spec.sample_size < training:
        sample = _setting("--sample-size", "sample size", opts.sample_size, spec.sample_size, recorded.get("sample_size"))
        limit = f"the {sampled:,} points k-NN samples for its index ({sample})"
    elif "rows" in spec.data:
        source = f"--rows {rows}" if opts.rows is not None else f"{rows:,} generated rows"
        limit = f"the {training:,} training rows ({share} {source} that training gets)"
    else:
        limit = f"the {training:,} training rows ({share} the {rows:,} rows of {spec.data['file']} that training gets)"
    fixes = {"--k": f"--k {sampled} or less"}
    too_few_rows, too_small_sample = spec.k > training, spec.k > spec.sample_size
    if too_few_rows and not too_small_sample:
        fixes["--rows" if "rows" in spec.data else "--data"] = (
            f"--rows {sizes.rows_for_training(spec.k)} or more" if "rows" in spec.data
            else f"--data with at least {sizes.rows_for_training(spec.k):,} rows")
    elif too_small_sample and not too_few_rows:
        fixes["--sample-size"] = f"--sample-size {spec.k} or more (an option of `mysfits train`)"
    typed = {"--k": opts.k, "--rows": opts.rows, "--data": opts.data, "--sample-size": opts.sample_size}
    order = sorted(fixes, key=lambda flag: typed[flag] is None)  # what the user typed comes first
    raise OptionError(f"{k} is more than {limit}: k-NN cannot vote with {spec.k:,} neighbours among {sampled:,} "
                      f"points; pass {', or '.join(fixes[flag] for flag in order)}", tuple(order))


def _setting(flag: str, name: str, given: Any, value: Any, recorded: Any) -> str:
    """A setting as the user knows it: the flag they typed, or where the value came from."""
    if given is not None:
        return f"{flag} {value}"
    if recorded is not None:
        return f"{name} {value:,}, kept from the stack's last training job"
    return f"{name} {value:,} by default"


def _row_count(spec: TrainingSpec) -> int:
    if "file" in spec.data:
        from .training_data import read_rows

        return len(read_rows(spec))
    return spec.data["rows"]


def check_data(ctx: Context, options: UpOptions) -> None:
    """A data file is read and checked before anything is created (its rows are kept for the upload)."""
    spec = resolve_spec(ctx, options.train)
    if "file" in spec.data:
        from .training_data import check_shape, read_rows

        check_shape(read_rows(spec), spec)


def publish_test_split(run: Run, data: Record) -> Record:
    """Where `evaluate` finds the test split, and the best accuracy any model can reach on it (generated data only)."""
    ctx = run.ctx
    source = data.get("source") or {}
    ctx.state.set_output("test_data", f"s3://{data['bucket']}/{ctx.stack}/test/")
    ctx.state.set_output("test_content_type", source.get("content_type", RECORDIO))
    if "rows" in source.get("data", {}):
        from ..ml.dataset import bayes_optimal_accuracy

        ctx.state.set_output("bayes_optimal_accuracy", round(bayes_optimal_accuracy(), 6))
    else:
        ctx.state.drop_output("bayes_optimal_accuracy")
    return data


def training_job(run: Run) -> Record:
    """The k-NN job for this data and these settings: followed if it is already running or done, else started.

    A job this stack saw complete is up to date: its log and metrics are not shown again.
    """
    ctx, opts = run.ctx, run.options.train
    spec = resolve_spec(ctx, opts)
    recorded = ctx.state.get(JOB_KEY)
    reason = _why_a_new_job(ctx, recorded, spec, opts.new)
    if reason:
        ui.step(reason)
        ctx.state.retire(JOB_KEY)  # a running one is stopped once the new one is under way
    seen_done = not reason and _seen_complete(recorded)
    job = _run_job(run, spec, follow=not seen_done)
    if job["status"] == "Failed" and is_role_settling_message(job.get("failure") or ""):
        ui.warn(f"Training job {job['id']} failed because IAM had not spread the new role yet: "
                f"starting it again in {ui.duration(ROLE_RETRY_DELAY)}, once")
        ui.countdown(f"Training job {job['id']}", ROLE_RETRY_DELAY, "IAM settling")
        ctx.state.retire(JOB_KEY)
        job = _run_job(run, spec)
    if job["status"] in ("Failed", "Stopped"):
        failure = f"{job['id']} is {job['status']}: {job.get('failure') or 'no reason given'}"
        if str(job.get("failure") or "").startswith("ClientError"):  # SageMaker's word for the job's input
            raise OptionError(f"{failure} (trained with {spec.describe()})", ("--k", "--rows", "--data"))
        raise MysfitsError(failure)
    ctx.state.set_output("training_job", job["id"])
    if job["status"] == "Completed":
        ctx.state.set_output("test_data_job", job["id"])
        if not seen_done:
            show_metrics(ctx.aws.client("sagemaker").describe_training_job(TrainingJobName=job["id"]))
    return job


def _seen_complete(recorded: Record | None) -> bool:
    return bool(recorded) and not is_pending(recorded) and recorded.get("status") == "Completed"


def _why_a_new_job(ctx: Context, recorded: Record | None, spec: TrainingSpec, new: bool) -> str | None:
    if not recorded or is_pending(recorded):
        return None
    if new:
        return f"Training again (--new); training job {recorded['name']} is kept in SageMaker's history"
    if recorded.get("identity") != spec.as_record():
        changes = spec.changes_from(recorded.get("identity") or {})
        return f"Training again: {'; '.join(changes) or 'the data or settings changed'}"
    status = TrainingJob.status(ctx, recorded)
    if status in ("Failed", "Stopped"):
        return f"Training again: the last training job {recorded['name']} is {status}"
    return None


def _run_job(run: Run, spec: TrainingSpec, follow: bool = True) -> Record:
    """Start the job (or find it) and, unless `follow` is off, wait for it with its log lines."""
    ctx, opts = run.ctx, run.options.train
    data = run["train.data"]
    identity = spec.as_record()
    name = generated_name(ctx, JOB_KEY, identity, lambda: ctx.settings.name(f"knn-{timestamp()}"))
    image = knn_image_uri(ctx.aws.region)
    role = run["sagemaker.role"]
    request = training_request(spec, image, role["arn"], data["bucket"], f"{ctx.stack}/", FEATURE_DIM)
    waits = opts.wait and follow
    following = partial(follow_job, timeout=spec.max_runtime + STARTUP_ALLOWANCE, show_logs=opts.logs) if waits else None
    job = TrainingJob(JOB_KEY, name, request, following, {"image": image, "role_arn": role["arn"], "bucket": data["bucket"]})
    job.identity = identity
    if follow:
        ui.step(f"Training job {name} on {spec.instance_count} × {spec.instance_type}: {spec.describe()}")
    return ensure(ctx, job)


def _planned(run: Run) -> tuple[TrainingSpec, Record | None, str | None, str | None]:
    """(the settings, the recorded job, its live status, why `up` would start a new job) for plan and its price."""
    ctx, opts = run.ctx, run.options.train
    spec = resolve_spec(ctx, opts)
    recorded = ctx.state.get(JOB_KEY)
    status = TrainingJob.status(ctx, recorded) if recorded and not is_pending(recorded) else None
    reason = _why_a_new_job(ctx, recorded, spec, opts.new) if status is not None else None
    return spec, recorded, status, reason


def plan_job(run: Run) -> tuple[Change, Record]:
    """What `up` would train, with every setting it would train with (a k that cannot work fails here)."""
    spec, recorded, status, reason = _planned(run)
    if status is None or reason:
        check_neighbours(run.ctx, run.options.train, spec)
        note = f"{reason}; trains {spec.describe()}" if reason else f"trains {spec.describe()}"
        return Change("replace" if reason else "create", note=note), Unknown(name=JOB_KEY)
    if status.startswith("InProgress"):
        return Change("unchanged", note=f"{status}: followed until it completes ({spec.describe()})"), recorded
    return Change("unchanged", note=f"{status.lower()}, trained with {spec.describe()}"), recorded


def permissions(run: Run, change: Change) -> list[Permission]:
    """Starting (or following) the job, passing it the role, and reading its log while it trains."""
    ctx, opts = run.ctx, run.options.train
    spec = resolve_spec(ctx, opts)
    name = generated_name(ctx, JOB_KEY, spec.as_record(), lambda: ctx.settings.name(f"knn-{timestamp()}"))
    needed = TrainingJob(JOB_KEY, name, {"RoleArn": run["sagemaker.role"]["arn"]}).permissions(ctx, change)
    if opts.wait and opts.logs:
        needed += allow(["logs:DescribeLogStreams"], ctx.aws.arn("logs", f"log-group:{LOG_GROUP}:*"))
        needed += allow(["logs:GetLogEvents"], ctx.aws.arn("logs", f"log-group:{LOG_GROUP}:log-stream:{name}/*"))
    return needed


def bills(run: Run) -> tuple[str, str, int] | None:
    """While it trains (minutes), not for as long as the stack is up; a finished job that stays bills nothing."""
    spec, _recorded, status, reason = _planned(run)
    if status is not None and not reason and not status.startswith("InProgress"):
        return None
    return "training", spec.instance_type, spec.instance_count


def training_output(run: Run) -> DataPrefix:
    """Where SageMaker writes the model artifacts, so that `teardown --purge-data` removes them."""
    data = run["train.data"]
    return DataPrefix(OUTPUT_KEY, data["bucket"], [f"{run.ctx.stack}/output/"], None)


def completed_job(ctx: Context, record: Record) -> Record:
    """The recorded training job, as the endpoint needs it: completed, with a model artifact."""
    described = describe_or_none(ctx.aws.client("sagemaker").describe_training_job, TrainingJobName=record["id"])
    if described is None:
        raise MysfitsError(f"Training job {record['id']} is gone: run `mysfits train`")
    job = {**record, **training_job_record(described)}
    ctx.state.put(JOB_KEY, job)
    if job["status"] == "InProgress":
        raise MysfitsError(f"Training job {job['id']} is still in progress: follow it with `mysfits status` "
                           "and run this again when it has completed (or run `mysfits train` to follow it)")
    if job["status"] != "Completed" or not job.get("model_artifact"):
        raise MysfitsError(f"Training job {job['id']} is {job['status']}: run `mysfits train` again")
    return job
