"""`deploy-endpoint` and `evaluate`: model, endpoint config, endpoint, in-place updates, teardown, the report."""

from __future__ import annotations

import numpy as np
import pytest

from mysfits_cli import reference
from mysfits_cli.errors import MysfitsError
from mysfits_cli.resources.sagemaker import Endpoint, EndpointConfig, Model
from mysfits_cli.steps import endpoint as endpoint_step
from mysfits_cli.steps import train as train_step
from mysfits_cli.ml import dataset
from mysfits_cli.ml.evaluate import EvaluationReport, MysfitSummary
from mysfits_cli.options import TrainOptions
from mysfits_cli.steps.evaluation import evaluate_endpoint, read_test_split, show_report
from tests.support.steps import deploy_endpoint, destroy, destroy_keys, train

ACCOUNT = "123456789012"
SMALL = TrainOptions(rows=2000, sample_size=500)


class Clock:
    """Hands out the UTC time stamps the steps name things with."""

    def __init__(self, monkeypatch):
        self.stamp = "20261125-120000"
        monkeypatch.setattr(train_step, "timestamp", lambda: self.stamp)
        monkeypatch.setattr(endpoint_step, "timestamp", lambda: self.stamp)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def trained(ctx, clock):
    train(ctx, SMALL)
    clock.stamp = "20261125-121000"
    return ctx


def sagemaker(ctx):
    return ctx.aws.client("sagemaker")


def test_needs_a_completed_training_job(ctx):
    with pytest.raises(MysfitsError, match=r"the stack's training job, which is not up yet: run `mysfits train` first"):
        deploy_endpoint(ctx, "ml.m4.xlarge", 1)


def test_says_so_while_the_training_job_is_still_running(ctx, clock, jobs_stay_in_progress):
    train(ctx, TrainOptions(rows=100, sample_size=50, wait=False))
    with pytest.raises(MysfitsError, match="mysfits-knn-20261125-120000 is still in progress"):
        deploy_endpoint(ctx, "ml.m4.xlarge", 1)


def test_deploys_the_latest_model_on_a_tagged_endpoint(trained):
    ctx = trained
    endpoint = deploy_endpoint(ctx, "ml.m4.xlarge", 1)
    job = sagemaker(ctx).describe_training_job(TrainingJobName="mysfits-knn-20261125-120000")
    assert endpoint["id"] == "knn-ml-m4-xlarge-20261125-121000"
    model = sagemaker(ctx).describe_model(ModelName="mysfits-knn-model-20261125-121000")
    assert model["PrimaryContainer"]["Image"] == job["AlgorithmSpecification"]["TrainingImage"]
    assert model["PrimaryContainer"]["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model["ExecutionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/mysfits-us-east-1-notebook-role"
    config = sagemaker(ctx).describe_endpoint_config(EndpointConfigName="mysfits-knn-config-20261125-121000")
    [variant] = config["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "mysfits-knn-model-20261125-121000", "ml.m4.xlarge", 1)
    live = sagemaker(ctx).describe_endpoint(EndpointName=endpoint["id"])
    assert live["EndpointStatus"] == "InService"
    assert live["EndpointConfigName"] == "mysfits-knn-config-20261125-121000"
    for arn in (model["ModelArn"], config["EndpointConfigArn"], live["EndpointArn"]):
        assert {"Key": "mysfits:stack", "Value": "mysfits"} in sagemaker(ctx).list_tags(ResourceArn=arn)["Tags"]
    assert ctx.state.outputs["endpoint_name"] == "knn-ml-m4-xlarge-20261125-121000"
    kinds = {key: r["kind"] for key, r in ctx.state.resources.items() if key.startswith("endpoint.")}
    assert kinds == {"endpoint.model": "model", "endpoint.config": "endpoint-config", "endpoint.endpoint": "endpoint"}


def test_the_endpoint_name_follows_the_instance_type(trained):
    endpoint = deploy_endpoint(trained, "ml.c5.large", 2)
    assert endpoint["id"] == "knn-ml-c5-large-20261125-121000"
    [variant] = sagemaker(trained).describe_endpoint_config(
        EndpointConfigName="mysfits-knn-config-20261125-121000")["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.large", 2)


def test_deploying_the_same_model_again_changes_nothing(trained, clock, make_ctx, record_calls):
    deploy_endpoint(trained, "ml.m4.xlarge", 1)
    clock.stamp = "20261125-130000"
    again = make_ctx()
    recorder = record_calls(again)
    endpoint = deploy_endpoint(again, "ml.m4.xlarge", 1)
    assert recorder.mutating == []
    assert endpoint["id"] == "knn-ml-m4-xlarge-20261125-121000"


def test_teardown_deletes_endpoint_config_and_model(trained, record_calls):
    deploy_endpoint(trained, "ml.m4.xlarge", 1)
    recorder = record_calls(trained)
    assert destroy(trained, purge_data=False) == []
    assert recorder.mutating[:3] == ["DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]
    assert sagemaker(trained).list_endpoints()["Endpoints"] == []
    assert sagemaker(trained).list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker(trained).list_models()["Models"] == []
    # the data is kept; moto wrote no model artifacts, so there are none to keep and their record is forgotten
    assert trained.state.resources.keys() == {"train.bucket", "train.data"}


def test_after_a_lost_state_the_stack_tag_finds_the_endpoint_and_nothing_else(trained, make_ctx, tmp_path):
    deploy_endpoint(trained, "ml.m4.xlarge", 1)
    client = sagemaker(trained)
    client.create_model(ModelName="mysfits-knn-model-someone-else", PrimaryContainer={"Image": "i"},
                        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
    client.create_endpoint_config(EndpointConfigName="knn-other", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "mysfits-knn-model-someone-else",
        "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}])
    client.create_endpoint(EndpointName="knn-ml-m4-xlarge-not-ours", EndpointConfigName="knn-other",
                           Tags=[{"Key": "mysfits:stack", "Value": "another"}])
    lost = make_ctx(state_file=tmp_path / "lost.json")
    assert [r["id"] for r in Endpoint.leftovers(lost)] == ["knn-ml-m4-xlarge-20261125-121000"]
    assert [r["id"] for r in EndpointConfig.leftovers(lost)] == ["mysfits-knn-config-20261125-121000"]
    assert [r["id"] for r in Model.leftovers(lost)] == ["mysfits-knn-model-20261125-121000"]
    assert destroy(lost) == []
    assert [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]] == ["knn-ml-m4-xlarge-not-ours"]


def test_gone_resources_have_no_status_and_count_as_deleted(trained):
    deploy_endpoint(trained, "ml.m4.xlarge", 1)
    client = sagemaker(trained)
    client.delete_endpoint(EndpointName="knn-ml-m4-xlarge-20261125-121000")
    client.delete_endpoint_config(EndpointConfigName="mysfits-knn-config-20261125-121000")
    client.delete_model(ModelName="mysfits-knn-model-20261125-121000")
    for key, cls in (("endpoint.endpoint", Endpoint), ("endpoint.config", EndpointConfig), ("endpoint.model", Model)):
        assert cls.status(trained, trained.state.get(key)) is None
    destroy_keys(trained, ["endpoint.endpoint", "endpoint.config", "endpoint.model"])


def test_a_failed_endpoint_reports_its_reason(trained, monkeypatch):
    from moto.sagemaker.models import FakeEndpoint

    original = FakeEndpoint.__init__

    def failing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.endpoint_status, self.failure_reason = "Failed", "The model artifact could not be loaded"

    monkeypatch.setattr(FakeEndpoint, "__init__", failing)
    with pytest.raises(MysfitsError, match="is Failed: The model artifact could not be loaded"):
        deploy_endpoint(trained, "ml.m4.xlarge", 1)
    assert trained.state.get("endpoint.endpoint")["kind"] == "endpoint"


# ---- evaluation -------------------------------------------------------------------------------

def test_the_test_split_is_read_back_from_s3(trained):
    expected = dataset.split(dataset.generate(2000, 42), 42)[1]
    assert np.array_equal(read_test_split(trained), expected)


def test_a_csv_test_split_is_read_back_too(ctx, clock):
    train(ctx, TrainOptions(rows=300, sample_size=100, content_type="text/csv"))
    assert np.array_equal(read_test_split(ctx), dataset.split(dataset.generate(300, 42), 42)[1])


def test_evaluation_needs_an_endpoint_and_a_test_split(ctx):
    with pytest.raises(MysfitsError, match="run `mysfits deploy-endpoint` first"):
        evaluate_endpoint(ctx)
    with pytest.raises(MysfitsError, match="run `mysfits train` first"):
        read_test_split(ctx)


def test_the_report_shows_accuracy_bound_latency_and_every_mysfit(capsys):
    report = EvaluationReport(
        rows=200, batches=4, correct=130, accuracy=0.65, latency_p50_ms=3.25, latency_p99_ms=9.5, total_seconds=0.02,
        per_mysfit=[MysfitSummary(label=i, count=20 if i < 10 else 0, correct=13 if i < 10 else 0,
                                  recall=0.65 if i < 10 else None, predicted=20) for i in range(12)],
        bayes_optimal=0.6612,
    )
    show_report(report)
    out = capsys.readouterr().out
    assert "0.6500 (130 of 200 test rows)" in out and "0.6612" in out
    assert "p50 3.2 ms, p99 9.5 ms (4 requests)" in out
    for mysfit in reference.mysfits():
        assert mysfit["name"] in out and mysfit["species"] in out


@pytest.fixture
def local_sagemaker():
    """The local cloud's SageMaker (real k-NN training, UpdateEndpoint, InvokeEndpoint) on top of moto."""
    from mysfits_cli.local import sagemaker as emulation

    emulation.install()
    yield
    emulation.uninstall()


def test_a_new_model_replaces_the_served_one_in_place_and_is_evaluated(ctx, clock, local_sagemaker, record_calls):
    train(ctx, SMALL)
    clock.stamp = "20261125-121000"
    first = deploy_endpoint(ctx, "ml.m4.xlarge", 1)
    report = evaluate_endpoint(ctx, batches=10)
    assert ctx.state.outputs["endpoint_training_job"] == "mysfits-knn-20261125-120000"
    assert report.rows == 200 and report.batches == 10
    assert 0.3 < report.accuracy <= 1 and report.bayes_optimal == round(dataset.bayes_optimal_accuracy(), 6)

    clock.stamp = "20261125-122000"
    train(ctx, TrainOptions(rows=2000, sample_size=500, seed=7))
    clock.stamp = "20261125-123000"
    recorder = record_calls(ctx)
    second = deploy_endpoint(ctx, "ml.m4.xlarge", 1)
    assert second["id"] == first["id"] and second["config"] == "mysfits-knn-config-20261125-123000"
    assert recorder.mutating == [
        "CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "DeleteEndpointConfig", "DeleteModel",
    ]
    assert [m["ModelName"] for m in sagemaker(ctx).list_models()["Models"]] == ["mysfits-knn-model-20261125-123000"]
    assert sorted(k for k in ctx.state.resources if k.startswith("endpoint.")) == [
        "endpoint.config", "endpoint.endpoint", "endpoint.model",
    ]
