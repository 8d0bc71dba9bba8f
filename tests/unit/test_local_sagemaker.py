import json
import threading
import time

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend

from mysfits_cli.local import sagemaker as local_sagemaker
from mysfits_cli.ml import dataset, recordio
from mysfits_cli.ml.knn import KnnModel

REGION, BUCKET, ROLE = "us-east-1", "sagemaker-us-east-1-123456789012", "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
HYPERPARAMETERS = {"feature_dim": "5", "k": "10", "sample_size": "2000", "predictor_type": "classifier"}


@pytest.fixture()
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    local_sagemaker.install()
    try:
        with mock_aws():
            clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "sagemaker", "sagemaker-runtime", "logs")}
            clients["s3"].create_bucket(Bucket=BUCKET)
            yield clients
    finally:
        local_sagemaker.uninstall()


@pytest.fixture(scope="module")
def split():
    return dataset.split(dataset.generate(3_000, seed=5), seed=5)


def upload(aws, prefix, rows, content_type="application/x-recordio-protobuf", parts=2):
    for number, part in enumerate(np.array_split(rows, parts)):
        encode = recordio.encode if content_type.startswith("application") else recordio.encode_csv
        aws["s3"].put_object(Bucket=BUCKET, Key=f"{prefix}/part-{number}", Body=encode(part[:, :5], part[:, 5]))


def start_job(aws, name, channels, hyperparameters=HYPERPARAMETERS, image=IMAGE):
    aws["sagemaker"].create_training_job(
        TrainingJobName=name,
        HyperParameters=hyperparameters,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[
            {
                "ChannelName": channel,
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
                "ContentType": content_type,
            }
            for channel, (uri, content_type) in channels.items()
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/mysfits/output"},
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def wait_job(aws, name, timeout=30.0):
    deadline, statuses = time.monotonic() + timeout, []
    while True:
        described = aws["sagemaker"].describe_training_job(TrainingJobName=name)
        statuses.append(described["TrainingJobStatus"])
        if described["TrainingJobStatus"] not in ("InProgress", "Stopping") or time.monotonic() > deadline:
            return described, statuses
        time.sleep(0.02)


def train(aws, split, name="knn-job", hyperparameters=HYPERPARAMETERS):
    train_rows, test_rows = split
    upload(aws, "mysfits/train", train_rows)
    upload(aws, "mysfits/test", test_rows, "text/csv")
    start_job(aws, name, {
        "train": (f"s3://{BUCKET}/mysfits/train", "application/x-recordio-protobuf"),
        "test": (f"s3://{BUCKET}/mysfits/test/", "text/csv"),
    }, hyperparameters)
    return wait_job(aws, name)


def test_install_is_idempotent_and_uninstall_restores_moto():
    original = SageMakerModelBackend.create_training_job
    local_sagemaker.install()
    try:
        patched = SageMakerModelBackend.create_training_job
        local_sagemaker.install()
        assert SageMakerModelBackend.create_training_job is patched is not original
        assert getattr(patched, "_mysfits_sagemaker")
        assert hasattr(SageMakerModelBackend, "update_endpoint")
    finally:
        local_sagemaker.uninstall()
    assert SageMakerModelBackend.create_training_job is original
    assert not hasattr(SageMakerModelBackend, "update_endpoint")


def test_training_job_trains_writes_the_model_metrics_and_logs(aws, split):
    described, statuses = train(aws, split)
    assert statuses[0] == "InProgress" and described["TrainingJobStatus"] == "Completed"
    assert described["SecondaryStatus"] == "Completed"
    transitions = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert transitions == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/mysfits/output/knn-job/output/model.tar.gz"
    body = aws["s3"].get_object(Bucket=BUCKET, Key=artifact.split("/", 3)[3])["Body"].read()
    model = KnnModel.from_bytes(body)
    assert (model.k, len(model.features)) == (10, 2_000)

    _, test_rows = split
    accuracy = float(np.mean(model.predict(test_rows[:, :5]) == test_rows[:, 5]))
    [metric] = described["FinalMetricDataList"]
    assert metric["MetricName"] == "test:accuracy" and metric["Value"] == pytest.approx(accuracy)
    assert "test:accuracy" in {d["Name"] for d in described["AlgorithmSpecification"]["MetricDefinitions"]}
    assert described["TrainingTimeInSeconds"] >= 1 and "FailureReason" not in described
    assert described["TrainingEndTime"] >= described["TrainingStartTime"]

    logs = aws["logs"]
    [stream] = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"]
    assert stream["logStreamName"].startswith("knn-job/algo-1-")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"])["events"]
    messages = [event["message"] for event in events]
    assert f"#test_score (algo-1) : ('accuracy', {metric['Value']})" in messages
    assert any("train channel: 2700 records of 5 features from 2 object(s)" in m for m in messages)

    listed = aws["sagemaker"].list_training_jobs()["TrainingJobSummaries"]
    assert [(j["TrainingJobName"], j["TrainingJobStatus"]) for j in listed] == [("knn-job", "Completed")]


def test_job_names_are_unique(aws, split):
    train(aws, split, "once")
    with pytest.raises(ClientError, match="Training job names must be unique"):
        start_job(aws, "once", {"train": (f"s3://{BUCKET}/mysfits/train", "")})


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("feature_dim", "ClientError: train channel, object 1: the data have 5 features but feature_dim is 4"),
        ("no objects", 'ClientError: No S3 objects found under S3 URL "s3://sagemaker-us-east-1-123456789012/nothing/here"'),
        ("garbage", "ClientError: train channel, object 1: not RecordIO: bad magic"),
        ("image", "ClientError: the local cloud runs only SageMaker's built-in k-NN image"),
        ("hyperparameter", "ClientError: Missing required hyperparameter: sample_size"),
    ],
)
def test_bad_jobs_fail_with_a_reason(aws, split, case, reason):
    train_rows, _ = split
    upload(aws, "good", train_rows)
    aws["s3"].put_object(Bucket=BUCKET, Key="bad/object", Body=b"this is not RecordIO")
    uri = {"no objects": "nothing/here", "garbage": "bad"}.get(case, "good")
    hyperparameters = HYPERPARAMETERS | ({"feature_dim": "4"} if case == "feature_dim" else {})
    if case == "hyperparameter":
        hyperparameters = {k: v for k, v in HYPERPARAMETERS.items() if k != "sample_size"}
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1" if case == "image" else IMAGE
    start_job(aws, "bad-job", {"train": (f"s3://{BUCKET}/{uri}", "application/x-recordio-protobuf")}, hyperparameters, image)
    described, _ = wait_job(aws, "bad-job")
    assert described["TrainingJobStatus"] == "Failed" and described["SecondaryStatus"] == "Failed"
    assert described["FailureReason"].startswith(reason)
    assert described.get("FinalMetricDataList", []) == []
    events = aws["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs")["events"]
    assert events[-1]["message"] == described["FailureReason"]


def deploy(aws, model_name, artifact, config_name, endpoint_name=None):
    sagemaker = aws["sagemaker"]
    sagemaker.create_model(ModelName=model_name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifact})
    sagemaker.create_endpoint_config(
        EndpointConfigName=config_name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}],
    )
    if endpoint_name:
        sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)


def csv_body(rows: np.ndarray) -> bytes:
    return "".join(",".join(map(str, row)) + "\n" for row in rows.tolist()).encode()


def predictions(body: bytes, accept: str = "application/json") -> list[float]:
    if accept == "application/jsonlines":
        return [json.loads(line)["predicted_label"] for line in body.decode().splitlines()]
    return [p["predicted_label"] for p in json.loads(body)["predictions"]]


def artifact_model(aws, artifact):
    return KnnModel.from_bytes(aws["s3"].get_object(Bucket=BUCKET, Key=artifact.split("/", 3)[3])["Body"].read())


def test_endpoint_serves_the_trained_model(aws, split):
    described, _ = train(aws, split)
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
    deploy(aws, "knn-model", artifact, "knn-config", "knn-ml-m4-xlarge-1")
    runtime = aws["sagemaker-runtime"]
    _, test_rows = split
    batch = test_rows[:50, :5]
    expected = artifact_model(aws, artifact).predict(batch).tolist()

    csv = runtime.invoke_endpoint(EndpointName="knn-ml-m4-xlarge-1", ContentType="text/csv", Body=csv_body(batch))
    assert csv["ContentType"] == "application/json" and csv["InvokedProductionVariant"] == "AllTraffic"
    assert predictions(csv["Body"].read()) == expected

    lines = b"".join(json.dumps({"features": row.tolist()}).encode() + b"\n" for row in batch)
    answer = runtime.invoke_endpoint(
        EndpointName="knn-ml-m4-xlarge-1", ContentType="application/jsonlines", Accept="application/jsonlines", Body=lines
    )
    assert answer["ContentType"] == "application/jsonlines"
    assert predictions(answer["Body"].read(), "application/jsonlines") == expected

    verbose = runtime.invoke_endpoint(
        EndpointName="knn-ml-m4-xlarge-1", ContentType="application/x-recordio-protobuf",
        Accept="application/json; verbose=true", Body=recordio.encode(batch[:2].astype(np.float64)),
    )
    [first, _] = json.loads(verbose["Body"].read())["predictions"]
    assert len(first["labels"]) == 10 and first["distances"] == sorted(first["distances"])

    # AWS keeps serving after the config and the model are deleted
    aws["sagemaker"].delete_endpoint_config(EndpointConfigName="knn-config")
    aws["sagemaker"].delete_model(ModelName="knn-model")
    again = runtime.invoke_endpoint(EndpointName="knn-ml-m4-xlarge-1", ContentType="text/csv", Body=b"1,2,3,4,5")
    assert predictions(again["Body"].read()) == artifact_model(aws, artifact).predict(np.array([[1, 2, 3, 4, 5]])).tolist()


def test_updating_the_endpoint_serves_the_new_model(aws, split):
    first, _ = train(aws, split, "job-1")
    second, _ = train(aws, split, "job-2", HYPERPARAMETERS | {"predictor_type": "regressor", "k": "3"})
    deploy(aws, "model-1", first["ModelArtifacts"]["S3ModelArtifacts"], "config-1", "endpoint")
    deploy(aws, "model-2", second["ModelArtifacts"]["S3ModelArtifacts"], "config-2")
    batch = split[1][:40, :5]
    body = csv_body(batch)

    def ask():
        return predictions(aws["sagemaker-runtime"].invoke_endpoint(EndpointName="endpoint", ContentType="text/csv", Body=body)["Body"].read())

    assert ask() == artifact_model(aws, first["ModelArtifacts"]["S3ModelArtifacts"]).predict(batch).tolist()
    arn = aws["sagemaker"].update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")["EndpointArn"]
    assert arn.endswith(":endpoint/endpoint")
    described = aws["sagemaker"].describe_endpoint(EndpointName="endpoint")
    assert (described["EndpointConfigName"], described["EndpointStatus"]) == ("config-2", "InService")
    new = ask()
    assert new == pytest.approx(artifact_model(aws, second["ModelArtifacts"]["S3ModelArtifacts"]).predict(batch).tolist())
    assert any(value != round(value) for value in new)  # the regressor's means, not class labels

    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        aws["sagemaker"].update_endpoint(EndpointName="endpoint", EndpointConfigName="missing")
    with pytest.raises(ClientError, match="Could not find endpoint"):
        aws["sagemaker"].update_endpoint(EndpointName="missing", EndpointConfigName="config-1")


def test_invocation_errors(aws, split):
    described, _ = train(aws, split)
    deploy(aws, "knn-model", described["ModelArtifacts"]["S3ModelArtifacts"], "knn-config", "good")
    deploy(aws, "no-data", f"s3://{BUCKET}/missing/model.tar.gz", "no-data-config", "broken")
    runtime = aws["sagemaker-runtime"]

    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=b"1,2,3,4,5")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "Endpoint nope of account 123456789012 not found" in str(caught.value)

    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName="good", ContentType="text/csv", Body=b"1,2,3")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"] == "the model takes 5 features per row, the request has 3"
    assert error["LogStreamArn"].endswith("log-group:/aws/sagemaker/Endpoints/good")

    with pytest.raises(runtime.exceptions.ModelError, match="unsupported content type"):
        runtime.invoke_endpoint(EndpointName="good", ContentType="image/png", Body=b"\x89PNG")

    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName="broken", ContentType="text/csv", Body=b"1,2,3,4,5")
    assert caught.value.response["OriginalStatusCode"] == 500
    assert "does not exist" in caught.value.response["OriginalMessage"]


def test_stopping_a_running_job(aws, split, monkeypatch):
    release, entered = threading.Event(), threading.Event()
    real = local_sagemaker.run_training

    def held_training(*args):
        entered.set()
        release.wait(10)
        return real(*args)

    monkeypatch.setattr(local_sagemaker, "run_training", held_training)
    upload(aws, "mysfits/train", split[0])
    start_job(aws, "to-stop", {"train": (f"s3://{BUCKET}/mysfits/train", "application/x-recordio-protobuf")})
    assert entered.wait(10)
    aws["sagemaker"].stop_training_job(TrainingJobName="to-stop")
    stopping = aws["sagemaker"].describe_training_job(TrainingJobName="to-stop")
    assert (stopping["TrainingJobStatus"], stopping["SecondaryStatus"]) == ("Stopping", "Stopping")
    release.set()
    described, _ = wait_job(aws, "to-stop")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "model.tar.gz" not in str(aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="mysfits/output").get("Contents", []))

    with pytest.raises(ClientError, match="the training job is in status Stopped"):
        aws["sagemaker"].stop_training_job(TrainingJobName="to-stop")
    with pytest.raises(ClientError, match="Could not find training job"):
        aws["sagemaker"].stop_training_job(TrainingJobName="never-started")


def manifest_channel(aws, rows, shards=2, prefix="sdk/KNN-2026/"):
    """What the SDK's record_set uploads: matrix_<n>.pbr shards and a manifest naming them."""
    names = []
    for number, part in enumerate(np.array_split(rows, shards)):
        names.append(f"matrix_{number}.pbr")
        aws["s3"].put_object(Bucket=BUCKET, Key=prefix + names[-1], Body=recordio.encode(part[:, :5], part[:, 5]))
    manifest = json.dumps([{"prefix": f"s3://{BUCKET}/{prefix}"}, *names])
    aws["s3"].put_object(Bucket=BUCKET, Key=prefix + ".amazon.manifest", Body=manifest.encode())
    return f"s3://{BUCKET}/{prefix}.amazon.manifest"


@pytest.mark.parametrize("input_mode", ["File", "Pipe"])
def test_manifest_channels_in_file_and_pipe_mode_train_on_every_shard(aws, split, input_mode):
    train_rows, test_rows = split
    source = {"S3DataType": "ManifestFile", "S3Uri": manifest_channel(aws, train_rows),
              "S3DataDistributionType": "ShardedByS3Key"}
    aws["sagemaker"].create_training_job(
        TrainingJobName=f"sdk-{input_mode.lower()}", HyperParameters=HYPERPARAMETERS, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": input_mode},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source},
                          "ContentType": "application/x-recordio-protobuf"}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/sdk/output"},
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    described, _ = wait_job(aws, f"sdk-{input_mode.lower()}")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    events = aws["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs")["events"]
    objects = 1 if input_mode == "Pipe" else 2
    assert any(f"{len(train_rows)} records of 5 features from {objects} object(s)" in e["message"] for e in events)


@pytest.mark.parametrize("manifest, reason", [
    (None, "the manifest file does not exist"),
    (b"{not json", "is not a JSON array of a prefix and keys"),
    (json.dumps([{"prefix": f"s3://{BUCKET}/sdk/"}, "matrix_9.pbr"]).encode(), "which does not exist"),
])
def test_a_bad_manifest_fails_the_job(aws, manifest, reason):
    if manifest is not None:
        aws["s3"].put_object(Bucket=BUCKET, Key="sdk/.amazon.manifest", Body=manifest)
    source = {"S3DataType": "ManifestFile", "S3Uri": f"s3://{BUCKET}/sdk/.amazon.manifest"}
    aws["sagemaker"].create_training_job(
        TrainingJobName="bad-manifest", HyperParameters=HYPERPARAMETERS, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/sdk/output"},
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    described, _ = wait_job(aws, "bad-manifest")
    assert described["TrainingJobStatus"] == "Failed" and reason in described["FailureReason"]


def test_the_endpoint_log_group_has_the_container_lines_a_model_error_points_at(aws, split):
    described, _ = train(aws, split)
    deploy(aws, "log-model", described["ModelArtifacts"]["S3ModelArtifacts"], "log-config", "log-endpoint")
    with pytest.raises(ClientError) as refused:
        aws["sagemaker-runtime"].invoke_endpoint(EndpointName="log-endpoint", ContentType="text/csv", Body=b"1,2")
    group = "/aws/sagemaker/Endpoints/log-endpoint"
    assert refused.value.response["Error"]["Code"] == "ModelError"
    assert refused.value.response["LogStreamArn"].endswith(f":log-group:{group}")
    streams = aws["logs"].describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"].split("/")[0] for s in streams] == ["AllTraffic"]
    messages = [e["message"] for e in aws["logs"].filter_log_events(logGroupName=group)["events"]]
    assert any("Loaded a k-NN classifier (k=10)" in m for m in messages)
    assert "ERROR: 400:" in messages[-1]
