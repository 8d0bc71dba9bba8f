"""The local cloud's SageMaker: real k-NN training jobs and endpoints on moto 5.2.

`install()` patches moto's SageMaker classes in place (idempotently), so it works in
the local cloud's server process and in-process under `mock_aws`; `uninstall()`
restores moto's own behaviour. Each patch says
what moto does, what AWS does and what we change:

* training jobs really train (`_train_for_real`) and can be stopped (`_stop_training_job`);
* endpoints remember the model they serve and can be updated (`_serve_models`,
  `_update_endpoint`) and deleted (`_delete_endpoint`); in strict mode, and with the
  latency model, these take time, and a model that cannot be loaded fails a new
  endpoint or rolls an update back;
* InvokeEndpoint answers with that model's predictions (`_invoke_for_real`), after the
  `--endpoint-delay` switch's seconds.

How long each step takes comes from latency.py; the rules of strict mode it plays
here are the ones that decide what an endpoint serves and how a training run ends.
"""

from __future__ import annotations

import functools
import gzip
import json
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote, urlparse

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.logs.models import logs_backends
from moto.s3.models import FakeKey, s3_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, FakeTrainingJob, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from mysfits_cli.ml.inference import InferenceError, format_response, parse_request
from mysfits_cli.ml.knn import KnnModel
from mysfits_cli.ml.training import TrainingError, run_training

from . import context
from .latency import after, duration
from .patching import Patches
from .strict import training_role_failure

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRIC_DEFINITIONS = [
    {"Name": "test:accuracy", "Regex": r"#quality_metric: host=\S+, test accuracy <score>=(\S+)"},
    {"Name": "test:mse", "Regex": r"#quality_metric: host=\S+, test mse <score>=(\S+)"},
]


_PATCHES = Patches("sagemaker")


def install() -> None:
    """Apply every patch once; later calls do nothing."""
    _PATCHES.install(_train_for_real, _stop_training_job, _serve_models, _update_endpoint, _delete_endpoint,
                     _invoke_for_real)


def uninstall() -> None:
    """Put moto's own methods back (tests use it so the patches do not outlive them)."""
    _PATCHES.restore()


# -- training -------------------------------------------------------------------


def _train_for_real() -> None:
    """CreateTrainingJob starts a real k-NN training run.

    moto: the job is Completed the moment it is created, with a made-up metric and no
    model artifact; a second job of the same name silently replaces the first.
    AWS: the job is InProgress (Starting, Downloading, Training, Uploading) and ends
    Completed, with model.tar.gz at ModelArtifacts.S3ModelArtifacts, the final metrics
    and the algorithm's log in CloudWatch Logs, or Failed with a FailureReason; a
    reused name is a ValidationException.
    We: refuse a reused name, then run `run_training` in a background thread on the
    channels' S3 objects from moto's S3 — an S3Prefix's objects, or those a ManifestFile lists
    (the SDK's record_set writes one shard per instance and such a manifest); in File mode
    each object is a file, in Pipe mode the channel is one stream of them all, as the
    algorithm reads its FIFO — write the artifact to moto's S3 and the log to
    moto's CloudWatch Logs (`/aws/sagemaker/TrainingJobs`, `<job>/algo-1-<epoch>`),
    and move the job through those statuses. DescribeTrainingJob serialises the job's
    attributes, so it reports all of it unchanged. With the latency model the instances'
    start-up and the image download take their AWS time (latency.py); in strict mode a job
    whose role IAM has not spread yet fails as on AWS (strict.training_role_failure).
    """

    def build(original):
        @functools.wraps(original)
        def create_training_job(self: SageMakerModelBackend, training_job_name: str, *args: Any, **kwargs: Any):
            if training_job_name in self.training_jobs:
                arn = FakeTrainingJob.arn_formatter(training_job_name, self.account_id, self.region_name)
                raise ValidationError(
                    message="Training job names must be unique within an AWS account and region, "
                    f"and a training job with this name already exists ({arn})"
                )
            job = original(self, training_job_name, *args, **kwargs)
            _start(self, job)
            return job

        return create_training_job

    _PATCHES.replace(SageMakerModelBackend, "create_training_job", build)


def _start(backend: SageMakerModelBackend, job: FakeTrainingJob) -> None:
    now = utcnow()
    # Every attribute the run will set exists from the start: describe iterates the
    # job's __dict__ while the run thread rebinds them.
    job.training_job_status, job.secondary_status = "InProgress", "Starting"
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": now, "StatusMessage": "Launching requested ML instances"}
    ]
    job.final_metric_data_list = []
    job.training_start_time = job.training_end_time = job.failure_reason = None
    job.training_time_in_seconds = job.billable_time_in_seconds = None
    job.last_modified_time = now
    job.algorithm_specification = {**(job.algorithm_specification or {}), "MetricDefinitions": METRIC_DEFINITIONS}
    _STOPS[job] = threading.Event()
    threading.Thread(
        target=_run_job, args=(backend.account_id, backend.region_name, backend.partition, job),
        name=f"training-{job.training_job_name}", daemon=True,
    ).start()


def _transition(job: FakeTrainingJob, status: str, message: str) -> None:
    now = utcnow()
    transitions = [dict(t) for t in job.secondary_status_transitions]
    transitions[-1]["EndTime"] = now
    transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
    if status in ("Completed", "Failed", "Stopped"):
        transitions[-1]["EndTime"] = now
    job.secondary_status_transitions = transitions
    job.secondary_status = status
    job.last_modified_time = now


class _JobLog:
    """Lines to moto's CloudWatch Logs, one event each, as they come."""

    def __init__(self, account_id: str, region: str, job_name: str) -> None:
        self.backend = logs_backends[account_id][region]
        self.stream = f"{job_name}/algo-1-{int(time.time())}"
        if LOG_GROUP not in self.backend.groups:
            self.backend.create_log_group(LOG_GROUP, tags={})
        if self.stream not in self.backend.groups[LOG_GROUP].streams:
            self.backend.create_log_stream(LOG_GROUP, self.stream)

    def write(self, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line}
        self.backend.put_log_events(LOG_GROUP, self.stream, [event])


class _ClientFault(Exception):
    """A problem with what the caller gave (data, image, S3 locations): a ClientError."""


class _Stopped(Exception):
    """The job was asked to stop."""


# job -> set when StopTrainingJob asks it to stop
_STOPS: weakref.WeakKeyDictionary[FakeTrainingJob, threading.Event] = weakref.WeakKeyDictionary()
_STATUS_LOCK = threading.Lock()


def _phase(job: FakeTrainingJob, status: str, message: str) -> None:
    """Enter the next phase, unless the job was asked to stop."""
    with _STATUS_LOCK:
        if _STOPS[job].is_set():
            raise _Stopped()
        _transition(job, status, message)


def _run_job(account_id: str, region: str, partition: str, job: FakeTrainingJob) -> None:
    started = time.time()
    log = None
    try:
        log = _JobLog(account_id, region, job.training_job_name)
        s3 = s3_backends[account_id][partition]
        _check_image(job.algorithm_specification)
        _start_instances(account_id, job)
        job.training_start_time = utcnow()
        _phase(job, "Downloading", "Downloading input data")
        input_mode = (job.algorithm_specification or {}).get("TrainingInputMode") or "File"
        channels = {c["ChannelName"]: _read_channel(s3, c, input_mode, job.role_arn) for c in job.input_data_config or []}
        _phase(job, "Training", "Downloading the training image")
        _take(job, "training.image")
        _message(job, "Training image download completed. Training in progress.")
        result = run_training(job.hyper_parameters or {}, channels, log.write)
        _phase(job, "Uploading", "Uploading generated training model")
        bucket, key = _s3_location(job.model_artifacts["S3ModelArtifacts"])
        try:
            s3.put_object(bucket, key, result.model_bytes)
        except Exception as error:
            raise _ClientFault(f"Unable to write the model to s3://{bucket}/{key}: {type(error).__name__}") from None
        now = utcnow()
        job.final_metric_data_list = [{"MetricName": n, "Value": v, "Timestamp": now} for n, v in result.metrics.items()]
        _finish(job, started, "Completed", "Training job completed")
    except _Stopped:
        _finish(job, started, "Stopped", "Training job stopped")
    except (TrainingError, _ClientFault) as error:
        _fail(job, started, f"ClientError: {error}", log)
    except Exception as error:  # the job fails, as a crashing algorithm container's would
        _fail(job, started, f"AlgorithmError: {type(error).__name__}: {error}", log)


def _start_instances(account_id: str, job: FakeTrainingJob) -> None:
    """The job's instances start (training.instances) and take on its role."""
    if _take(job, "training.instances"):
        _message(job, "Preparing the instances for training")
    failure = training_role_failure(account_id, job.role_arn)
    if failure:
        raise _ClientFault(failure)


def _take(job: FakeTrainingJob, transition: str) -> bool:
    """Spend the transition's time (stopping as soon as the job is asked to stop); True if it took any."""
    seconds = duration(transition)
    if not context.current().clock.sleep(seconds, _STOPS[job]):
        raise _Stopped()
    return seconds > 0


def _message(job: FakeTrainingJob, message: str) -> None:
    """A new StatusMessage within the current secondary status."""
    with _STATUS_LOCK:
        transitions = [dict(t) for t in job.secondary_status_transitions]
        transitions[-1]["StatusMessage"] = message
        job.secondary_status_transitions = transitions


def _check_image(specification: dict[str, Any]) -> None:
    image = specification.get("TrainingImage") or ""
    repository = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    if repository != "knn":
        raise _ClientFault(f"the local cloud runs only SageMaker's built-in k-NN image (<registry>/knn:1), not {image!r}")


def _read_channel(s3, channel: dict[str, Any], input_mode: str, role_arn: str) -> list[tuple[bytes, str]]:
    """The channel's data as the algorithm sees it: one (bytes, content type) per file in File mode;
    in Pipe mode one stream, the objects one after another, as the channel's FIFO delivers them."""
    source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
    uri, data_type = source.get("S3Uri", ""), source.get("S3DataType", "S3Prefix")
    if data_type == "S3Prefix":
        bucket, prefix = _s3_location(uri)
        locations = [(bucket, name) for name in _keys_under(s3, bucket, prefix)]
    elif data_type == "ManifestFile":
        locations = _manifest_locations(s3, uri)
    else:
        raise _ClientFault(f"channel {channel['ChannelName']}: S3DataType {data_type} is not supported here "
                           "(S3Prefix and ManifestFile are)")
    objects = []
    for bucket, name in locations:
        key = s3.get_object(bucket, name) if _exists(s3, bucket, name) else None
        if not isinstance(key, FakeKey):
            raise _ClientFault(f"channel {channel['ChannelName']}: the manifest lists s3://{bucket}/{name}, "
                               "which does not exist")
        body = gzip.decompress(key.value) if channel.get("CompressionType") == "Gzip" else key.value
        objects.append((body, channel.get("ContentType") or ""))
    if not objects:
        bucket = _s3_location(uri)[0]
        raise _ClientFault(
            f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
            f"exists in the selected region, that objects exist under that S3 prefix, and that the role "
            f'"{role_arn}" has "s3:ListBucket" permissions on bucket "{bucket}".'
        )
    if (channel.get("InputMode") or input_mode) == "Pipe":
        return [(b"".join(body for body, _ in objects), objects[0][1])]
    return objects


def _keys_under(s3, bucket: str, prefix: str) -> list[str]:
    """The objects' keys under an S3 prefix, in order, without folder markers."""
    try:
        keys = s3.get_bucket(bucket).keys
        names = sorted(name for name in list(keys.keys()) if name.startswith(prefix))
    except Exception:
        return []
    return [name for name in names if not (name.endswith("/") and s3.get_object(bucket, name).size == 0)]


def _exists(s3, bucket: str, name: str) -> bool:
    try:
        return isinstance(s3.get_object(bucket, name), FakeKey)
    except Exception:
        return False


def _manifest_locations(s3, uri: str) -> list[tuple[str, str]]:
    """The objects a manifest file lists: a JSON array, `{"prefix": "s3://bucket/prefix/"}` first, then keys
    relative to it (the SageMaker API's S3DataSource.S3Uri; what the SDK's record_set writes)."""
    bucket, key = _s3_location(uri)
    if not _exists(s3, bucket, key):
        raise _ClientFault(f'No S3 objects found under S3 URL "{uri}" given in input data source: '
                           "the manifest file does not exist.")
    try:
        entries = json.loads(s3.get_object(bucket, key).value)
        prefix = entries[0]["prefix"]
        relative = entries[1:]
        if not all(isinstance(name, str) for name in relative):
            raise ValueError("an entry after the prefix is not a key")
        prefix_bucket, prefix_key = _s3_location(prefix)
    except (ValueError, TypeError, KeyError, IndexError, _ClientFault) as error:
        raise _ClientFault(f"the manifest file {uri} is not a JSON array of a prefix and keys: {error}") from None
    return [(prefix_bucket, prefix_key + name) for name in relative]


def _s3_location(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise _ClientFault(f"{uri!r} is not an s3:// URL")
    return parsed.netloc, parsed.path.lstrip("/")


def _finish(job: FakeTrainingJob, started: float, status: str, message: str) -> None:
    with _STATUS_LOCK:
        if _STOPS[job].is_set():
            status, message = "Stopped", "Training job stopped"
        seconds = max(1, round(time.time() - started))
        job.training_time_in_seconds = job.billable_time_in_seconds = seconds
        job.training_end_time = utcnow()
        _transition(job, status, message)
        job.training_job_status = status


def _fail(job: FakeTrainingJob, started: float, reason: str, log: _JobLog | None) -> None:
    if not _STOPS[job].is_set():
        job.failure_reason = reason
    if log is not None:
        try:
            log.write(reason)
        except Exception:  # the log is a courtesy; the status is what matters
            pass
    _finish(job, started, "Failed", reason)


def _stop_training_job() -> None:
    """StopTrainingJob stops a running job.

    moto 5.2 lacks this operation (its server answers HTTP 500); its jobs
    never run, so there was nothing to stop.
    AWS: an InProgress job goes Stopping, then Stopped; stopping a job in any other
    status is a ValidationException.
    We: mark the job Stopping; its run ends Stopped at the next phase boundary (a
    phase in progress is not interrupted) and writes no model.
    """

    def stop_backend(self: SageMakerModelBackend, training_job_name: str) -> None:
        job = self.training_jobs.get(training_job_name)
        if job is None:
            arn = FakeTrainingJob.arn_formatter(training_job_name, self.account_id, self.region_name)
            raise ValidationError(message=f"Could not find training job '{arn}'.")
        with _STATUS_LOCK:
            if job.training_job_status != "InProgress" or job not in _STOPS:
                raise ValidationError(
                    message=f"The request was rejected because the training job is in status {job.training_job_status}."
                )
            _STOPS[job].set()
            job.training_job_status = "Stopping"
            _transition(job, "Stopping", "Stopping the training job")

    def stop_response(self: SageMakerResponse) -> EmptyResult:
        self.sagemaker_backend.stop_training_job(self._get_param("TrainingJobName"))
        return EmptyResult()

    _PATCHES.replace(SageMakerModelBackend, "stop_training_job", lambda _: stop_backend)
    _PATCHES.replace(SageMakerResponse, "stop_training_job", lambda _: stop_response)


# -- endpoints --------------------------------------------------------------------

# endpoint -> [(variant name, ModelDataUrl)] it serves, fixed when it is created or updated
_SERVING: weakref.WeakKeyDictionary[FakeEndpoint, list[tuple[str, str | None]]] = weakref.WeakKeyDictionary()


def _variants(backend: SageMakerModelBackend, config_name: str) -> list[tuple[str, str | None]]:
    config = backend.endpoint_configs[config_name]
    served = []
    for variant in config.production_variants:
        model = backend._models.get(variant.get("ModelName"))
        container = (model.primary_container or (model.containers or [{}])[0]) if model else {}
        served.append((variant.get("VariantName", "AllTraffic"), container.get("ModelDataUrl")))
    return served


def _serve_models() -> None:
    """CreateEndpoint fixes which model data the endpoint serves, once it is InService.

    moto: stores the endpoint with its config name only, InService at once.
    AWS: the endpoint is Creating while its instances start and load the models, then
    InService, running the models of its config as they were at creation (deleting the
    config or the model afterwards does not change what it serves); or Failed when a
    model cannot be loaded, with FailureReason 'Failed to download model data for
    container "container_1" from URL: "<url>". Please ensure that there is an object
    located at the URL and that the role passed to CreateModel has permissions to
    download the object.' (aws-solutions-library-samples/fraud-detection-using-machine-
    learning#9) or 'Failed to extract model data archive for container "container_1"
    from URL "<url>". Please ensure that the object located at the URL is a valid tar.gz
    archive.' (aws/deep-learning-containers#569).
    We: remember each variant's ModelDataUrl when the endpoint comes into service. It is
    Creating for endpoint.create (instant in lenient mode without the latency model);
    in strict mode its models are loaded then, and one that cannot be loaded fails it.
    """

    def build(original):
        @functools.wraps(original)
        def create_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, *args, **kwargs):
            endpoint = original(self, endpoint_name, endpoint_config_name, *args, **kwargs)
            served = _variants(self, endpoint_config_name)
            if duration("endpoint.create") <= 0:
                _serve(self, endpoint, served)
                return endpoint
            endpoint.endpoint_status = "Creating"
            after("endpoint.create", lambda: _come_into_service(self, endpoint, served))
            return endpoint

        return create_endpoint

    _PATCHES.replace(SageMakerModelBackend, "create_endpoint", build)


def _come_into_service(backend: SageMakerModelBackend, endpoint: FakeEndpoint,
                       served: list[tuple[str, str | None]]) -> None:
    if endpoint.endpoint_status != "Creating":
        return
    failure = _load_failure(backend, served)
    if failure:
        endpoint.endpoint_status, endpoint.failure_reason = "Failed", failure
    else:
        _serve(backend, endpoint, served)
        endpoint.endpoint_status = "InService"
    endpoint.last_modified_time = utcnow()


def _serve(backend: SageMakerModelBackend, endpoint: FakeEndpoint, served: list[tuple[str, str | None]]) -> None:
    """The endpoint serves these models from now on; each variant's container says so in the endpoint's log."""
    _SERVING[endpoint] = served
    s3 = s3_backends[backend.account_id][backend.partition]
    for variant, url in served:
        lines = [f"Loading the model of variant {variant} from {url}"]
        try:
            model = _MODELS.load(s3, url or "")
            lines.append(f"Loaded a k-NN {model.predictor_type} (k={model.k}); serving on port 8080")
        except (_MissingModelData, _BadModelData, _ClientFault) as error:
            lines.append(f"ERROR: the model cannot be loaded: {type(error).__name__} {error}")
        _ENDPOINT_LOGS.write(backend.account_id, backend.region_name, endpoint.endpoint_name, variant, lines)


class _EndpointLogs:
    """The endpoint's container log, as SageMaker keeps it: CloudWatch Logs group
    /aws/sagemaker/Endpoints/<endpoint>, one stream per instance, `<variant>/i-<17 hex>`."""

    def __init__(self) -> None:
        self.lock, self.streams = threading.Lock(), {}

    @staticmethod
    def group(endpoint_name: str) -> str:
        return f"/aws/sagemaker/Endpoints/{endpoint_name}"

    def write(self, account_id: str, region: str, endpoint_name: str, variant: str, lines: list[str]) -> None:
        logs, group = logs_backends[account_id][region], self.group(endpoint_name)
        stamp = time.strftime("%m/%d/%Y %H:%M:%S")
        try:
            with self.lock:
                stream = self.streams.setdefault((account_id, region, endpoint_name, variant),
                                                 f"{variant}/i-{uuid.uuid4().hex[:17]}")
                if group not in logs.groups:
                    logs.create_log_group(group, tags={})
                if stream not in logs.groups[group].streams:
                    logs.create_log_stream(group, stream)
            events = [{"timestamp": int(time.time() * 1000), "message": f"[{stamp} INFO 140] {line}"} for line in lines]
            logs.put_log_events(group, stream, events)
        except Exception as error:  # the log is a courtesy; serving must not depend on it
            print(f"could not write the log of endpoint {endpoint_name}: {error}", flush=True)


_ENDPOINT_LOGS = _EndpointLogs()


def _update_endpoint() -> None:
    """UpdateEndpoint points an endpoint at another endpoint config, or rolls back.

    moto 5.2 lacks this operation (its server answers HTTP 500).
    AWS: the endpoint goes Updating, then InService on the new config; the old config
    serves until then. When the new config's models cannot be deployed, the update is
    rolled back: the endpoint returns to InService on its old config, still serving the
    old models, with FailureReason saying why (UpdateEndpoint and DescribeEndpoint API
    references: "the endpoint returns to an InService status" with FailureReason).
    We: the endpoint is Updating for endpoint.update (instant in lenient mode without the
    latency model), serving the old models; then it switches to the new config, or in
    strict mode, when a new model cannot be loaded, keeps the old config and models and
    reports the model's FailureReason (the same texts as CreateEndpoint's).
    """

    def update_backend(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, **_: Any) -> FakeEndpoint:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(message=f'Could not find endpoint "{arn}".')
        if endpoint_config_name not in self.endpoint_configs:
            arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
            raise ValidationError(message=f'Could not find endpoint configuration "{arn}".')
        served = _variants(self, endpoint_config_name)
        if duration("endpoint.update") <= 0:
            _switch(self, endpoint, endpoint_config_name, served)
            return endpoint
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = utcnow()
        after("endpoint.update", lambda: _finish_update(self, endpoint, endpoint_config_name, served))
        return endpoint

    def update_response(self: SageMakerResponse) -> ActionResult:
        endpoint = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
        )
        return ActionResult({"EndpointArn": endpoint.arn})

    _PATCHES.replace(SageMakerModelBackend, "update_endpoint", lambda _: update_backend)
    _PATCHES.replace(SageMakerResponse, "update_endpoint", lambda _: update_response)


def _switch(backend: SageMakerModelBackend, endpoint: FakeEndpoint, config_name: str,
            served: list[tuple[str, str | None]]) -> None:
    config = backend.endpoint_configs.get(config_name)
    if config is not None:
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
    endpoint.endpoint_config_name = config_name
    endpoint.endpoint_status, endpoint.failure_reason = "InService", None
    endpoint.last_modified_time = utcnow()
    _serve(backend, endpoint, served)


def _finish_update(backend: SageMakerModelBackend, endpoint: FakeEndpoint, config_name: str,
                   served: list[tuple[str, str | None]]) -> None:
    if endpoint.endpoint_status != "Updating":
        return
    failure = _load_failure(backend, served)
    if failure:
        endpoint.endpoint_status, endpoint.failure_reason = "InService", failure
        endpoint.last_modified_time = utcnow()
    else:
        _switch(backend, endpoint, config_name, served)


def _delete_endpoint() -> None:
    """DeleteEndpoint takes the endpoint away.

    moto: gone at once.
    AWS: the endpoint is Deleting until its instances are released, then gone.
    We: Deleting for endpoint.delete (instant in lenient mode without the latency model).
    """

    def build(original):
        @functools.wraps(original)
        def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None or duration("endpoint.delete") <= 0:
                return original(self, endpoint_name)
            endpoint.endpoint_status = "Deleting"
            endpoint.last_modified_time = utcnow()
            after("endpoint.delete", lambda: self.endpoints.pop(endpoint_name, None))
            return None

        return delete_endpoint

    _PATCHES.replace(SageMakerModelBackend, "delete_endpoint", build)


class _MissingModelData(Exception):
    """No object at the model's ModelDataUrl."""


class _BadModelData(Exception):
    """The object at the model's ModelDataUrl is not a model archive."""


def _load_failure(backend: SageMakerModelBackend, served: list[tuple[str, str | None]]) -> str | None:
    """In strict mode, why a variant's model cannot be loaded (AWS's FailureReason), else None."""
    if not context.current().strict:
        return None
    s3 = s3_backends[backend.account_id][backend.partition]
    for _, url in served:
        try:
            _MODELS.load(s3, url or "")
        except _MissingModelData:
            return (f'Failed to download model data for container "container_1" from URL: "{url}". Please ensure '
                    "that there is an object located at the URL and that the role passed to CreateModel has "
                    "permissions to download the object.")
        except _BadModelData:
            return (f'Failed to extract model data archive for container "container_1" from URL "{url}". '
                    "Please ensure that the object located at the URL is a valid tar.gz archive.")
    return None


class _ModelCache:
    """Loaded models by S3 object (bucket, key, ETag); a re-uploaded artifact is reloaded."""

    def __init__(self, size: int = 8) -> None:
        self.size, self.lock, self.models = size, threading.Lock(), OrderedDict()

    def get(self, s3, url: str) -> KnnModel:
        """The model, or _ClientFault saying why it cannot be had."""
        try:
            return self.load(s3, url)
        except _MissingModelData:
            raise _ClientFault(f"the model data {url} does not exist") from None
        except _BadModelData as error:
            raise _ClientFault(f"the model data {url} cannot be loaded: {error}") from None

    def load(self, s3, url: str) -> KnnModel:
        try:
            bucket, key = _s3_location(url)
            found = s3.get_object(bucket, key)
        except Exception:
            found = None
        if not isinstance(found, FakeKey):
            raise _MissingModelData(url)
        cache_key = (id(s3), bucket, key, found.etag)
        with self.lock:
            if cache_key in self.models:
                self.models.move_to_end(cache_key)
                return self.models[cache_key]
        try:
            model = KnnModel.from_bytes(found.value)
        except ValueError as error:
            raise _BadModelData(str(error)) from None
        with self.lock:
            self.models[cache_key] = model
            while len(self.models) > self.size:
                self.models.popitem(last=False)
        return model


_MODELS = _ModelCache()


def _invoke_for_real() -> None:
    """InvokeEndpoint answers with the endpoint's model.

    moto: returns a canned body ("body") for any endpoint name, existing or not, and
    decodes the request body as UTF-8 (a RecordIO body fails with a server error).
    AWS: unknown endpoint -> ValidationError (400); otherwise the model container's
    answer, honouring Content-Type and Accept; a container's 4xx/5xx comes back as
    ModelError (424) carrying OriginalStatusCode, OriginalMessage and the LogStreamArn of
    the endpoint's log group, /aws/sagemaker/Endpoints/<endpoint>, where the container's lines are.
    We: follow endpoint -> served variant (X-Amzn-SageMaker-Target-Variant if given,
    else the first) -> ModelDataUrl in moto's S3, load it (cached by key and ETag) and
    answer with the k-NN inference protocol; the body is kept as bytes. The container's
    lines (loading each model, each error) go to that log group, one stream per variant's
    instance. With the
    `--endpoint-delay` switch every answer comes that many real seconds late, as from a
    slow model container.
    """

    def build_setup(original):
        @functools.wraps(original)
        def setup_class(self, request: Any, full_url: str, headers: Any, use_raw_body: bool = False) -> None:
            return original(self, request, full_url, headers, use_raw_body=True)

        return setup_class

    def build_invoke(original):
        @functools.wraps(original)
        def invoke_endpoint(self: SageMakerRuntimeResponse):
            return _invoke(self)

        return invoke_endpoint

    _PATCHES.replace(SageMakerRuntimeResponse, "setup_class", build_setup)
    _PATCHES.replace(SageMakerRuntimeResponse, "invoke_endpoint", build_invoke)


def _invoke(response: SageMakerRuntimeResponse):
    delay = context.current().settings.endpoint_delay
    if delay:
        time.sleep(delay)
    account, region = response.current_account, response.region
    name = unquote(response.path.rstrip("/").split("/")[-2])
    backend = sagemaker_backends[account][region]
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        return _error(400, "ValidationError", {"Message": f"Endpoint {name} of account {account} not found."})
    variants = _SERVING.get(endpoint) or _variants(backend, endpoint.endpoint_config_name)
    wanted = response.headers.get("X-Amzn-SageMaker-Target-Variant")
    chosen = next((v for v in variants if v[0] == wanted), None) if wanted else variants[0] if variants else None
    if chosen is None:
        return _error(400, "ValidationError", {"Message": f"Endpoint {name} has no variant {wanted!r}."})
    variant, url = chosen
    log_arn = f"arn:{backend.partition}:logs:{region}:{account}:log-group:{_EndpointLogs.group(name)}"

    def model_error(original_status: int, kind: str, message: str):
        _ENDPOINT_LOGS.write(account, region, name, variant, [f"ERROR: {original_status}: {message}"])
        return _model_error(original_status, kind, message, log_arn)

    body = response.body.encode() if isinstance(response.body, str) else bytes(response.body or b"")
    try:
        if not url:
            raise _ClientFault(f"model of variant {variant} has no ModelDataUrl")
        model = _MODELS.get(s3_backends[account][backend.partition], url)
    except _ClientFault as error:
        return model_error(500, "server", str(error))
    try:
        features = parse_request(body, response.headers.get("Content-Type") or "")
        answer, content_type = format_response(model, features, response.headers.get("Accept"))
    except InferenceError as error:
        return model_error(400, "client", str(error))
    return 200, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}, answer


def _error(status: int, code: str, fields: dict[str, Any]):
    # moto takes a response's status from its "status" header
    headers = {"status": str(status), "x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return status, headers, json.dumps(fields)


def _model_error(original_status: int, kind: str, message: str, log_arn: str):
    return _error(424, "ModelError", {
        "Message": f'Received {kind} error ({original_status}) from primary with message "{message}". '
        f"See {log_arn} for more information.",
        "OriginalStatusCode": original_status,
        "OriginalMessage": message,
        "LogStreamArn": log_arn,
    })
