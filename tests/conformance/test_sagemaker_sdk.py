"""The SageMaker Python SDK 2.x against the local cloud: the README's snippet of the workshop
notebook's flow, run as written, and the first-party KNN estimator in Pipe mode."""

from __future__ import annotations

import copy
import json
import re
import time
import types

import boto3
import pytest
import sagemaker  # 2.x, from the test extra

from mysfits_cli.ml import dataset
from tests.conformance.conftest import ROWS, readme_block, user_environment


def hurried_time(longest_sleep: float = 0.05) -> types.SimpleNamespace:
    """The `time` module as the SDK sees it: a sleep lasts at most `longest_sleep`, and the clock moves on
    by the whole of it (the SDK also counts seconds between looks, with time.time())."""
    skipped = 0.0

    def sleep(seconds: float) -> None:
        nonlocal skipped
        time.sleep(min(seconds, longest_sleep))
        skipped += max(0.0, seconds - longest_sleep)

    hurried = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
    hurried.sleep = sleep
    hurried.time = lambda: time.time() + skipped
    return hurried


def validated_once():
    """The SDK's check of its config against the config's JSON schema, once per distinct config: it checks
    at each look-up of a value (a third of a second each here, about a hundred times in the flow)."""
    check, seen = sagemaker.config.validate_sagemaker_config, []

    def validate(config=None):
        if config not in seen:
            check(config)
            seen.append(copy.deepcopy(config))

    return validate


@pytest.fixture
def sdk(cloud, monkeypatch, tmp_path):
    """The SDK pointed at the local cloud as the README says, its waits made short.

    The SDK sleeps on its own schedule whatever the backend (5 s before it first looks at a job,
    30 s before it looks at a new endpoint, 10 s between looks at the log and 30 s between looks
    at the job): these tests hurry it, by replacing `time` in its session module only, and let it
    check its config once."""
    for name, value in user_environment(cloud).items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(readme_block("sagemaker-sdk-config") + "\n")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    monkeypatch.setattr(sagemaker.session, "time", hurried_time())
    monkeypatch.setattr(sagemaker.utils, "validate_sagemaker_config", validated_once())
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # made again from the environment above
    yield


def test_the_readmes_notebook_flow_runs_as_written(sdk, tmp_path, capsys, shapes):
    dataset.write_csv(dataset.generate(ROWS, seed=7), tmp_path / "mysfit-preferences.csv.gz")
    checked = len(shapes.checked)
    exec(compile(readme_block("sagemaker-sdk-snippet"), "README.md (SageMaker SDK snippet)", "exec"), {})
    printed = capsys.readouterr().out
    accuracy = float(re.search(r"accuracy of model: ([\d.]+)%", printed).group(1))
    assert accuracy > 50, printed  # chance is 8%; the data's Bayes-optimal accuracy 66%
    assert re.search(r"the job's model: s3://sagemaker-us-east-1-123456789012/\S+/output/model\.tar\.gz", printed)
    recommended = [int(n) for n in re.search(r"recommended: \[([\d, ]+)\]", printed).group(1).split(",")]
    assert len(recommended) == 5 and all(0 <= n < 12 for n in recommended)
    operations = set(shapes.checked[checked:])
    assert {"sagemaker.CreateTrainingJob", "sagemaker.DescribeTrainingJob", "logs.GetLogEvents",
            "sagemaker.CreateEndpoint", "sagemaker.DescribeEndpoint", "sagemaker-runtime.InvokeEndpoint",
            "iam.AttachRolePolicy", "sagemaker.DeleteEndpoint"} <= operations
    assert not any(name.startswith("sts.") for name in operations)  # the config file's bucket spares STS


def test_the_knn_estimator_reads_its_shards_in_pipe_mode(sdk, tmp_path, cloud):
    rows = dataset.generate(4_000, seed=8)
    session = sagemaker.Session()
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    role = boto3.client("iam").create_role(RoleName="KnnPipeRole", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    cloud.advance(30)  # IAM has spread the new role
    knn = sagemaker.KNN(role=role, instance_count=2, instance_type="ml.m5.2xlarge", k=5, sample_size=1000,
                        predictor_type="classifier", input_mode="Pipe", sagemaker_session=session)
    knn.fit(knn.record_set(rows[:, :5].astype("float32"), rows[:, 5].astype("float32")), logs="None")
    job = session.sagemaker_client.describe_training_job(TrainingJobName=knn.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "Pipe"
    source = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3DataDistributionType"]) == ("ManifestFile", "ShardedByS3Key")
    events = boto3.client("logs").filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                    logStreamNamePrefix=job["TrainingJobName"])["events"]
    assert any("4000 records of 5 features from 1 object(s)" in event["message"] for event in events)
