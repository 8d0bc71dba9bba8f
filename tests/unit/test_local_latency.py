"""The latency model in-process: AWS's status values at each stage, the clock advanced by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mysfits_cli.local import latency, strict
from tests.support.calls import BUCKET, create_role, csv_rows, error, eventually, put_object, training_job
from tests.support.emulation import local_cloud

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def cloud():
    with local_cloud(latency="aws") as opened:
        yield opened


def test_a_vpc_link_is_pending_then_available_and_deleting_then_gone(cloud):
    gateway = cloud.client("apigateway")
    link = gateway.create_vpc_link(name="link", targetArns=["arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                                             "loadbalancer/net/nlb/1"])
    assert link["status"] == "PENDING"
    cloud.clock.advance(179)
    assert gateway.get_vpc_link(vpcLinkId=link["id"])["status"] == "PENDING"
    cloud.clock.advance(1)
    assert gateway.get_vpc_link(vpcLinkId=link["id"])["status"] == "AVAILABLE"
    gateway.delete_vpc_link(vpcLinkId=link["id"])
    assert gateway.get_vpc_link(vpcLinkId=link["id"])["status"] == "DELETING"
    cloud.clock.advance(120)
    with pytest.raises(ClientError) as caught:
        gateway.get_vpc_link(vpcLinkId=link["id"])
    assert error(caught)[1] == "NotFoundException"


def test_a_notebook_goes_pending_in_service_stopping_stopped_deleting(cloud):
    role = create_role(cloud.client("iam"), "r")
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    sagemaker = cloud.client("sagemaker")

    def status() -> str:
        return sagemaker.describe_notebook_instance(NotebookInstanceName="nb")["NotebookInstanceStatus"]

    sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
    assert status() == "Pending"
    with pytest.raises(ClientError, match=r"Status \(Pending\) not in \(\[InService\]\)"):
        sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    cloud.clock.advance(600)
    assert status() == "InService"
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    assert status() == "Stopping"
    with pytest.raises(ClientError, match=r"Status \(Stopping\) not in \(\[Stopped, Failed\]\)"):
        sagemaker.delete_notebook_instance(NotebookInstanceName="nb")
    cloud.clock.advance(60)
    assert status() == "Stopped"
    sagemaker.start_notebook_instance(NotebookInstanceName="nb")
    assert status() == "Pending"
    cloud.clock.advance(600)
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    cloud.clock.advance(60)
    sagemaker.delete_notebook_instance(NotebookInstanceName="nb")
    assert status() == "Deleting"
    cloud.clock.advance(60)
    with pytest.raises(ClientError, match="RecordNotFound"):
        status()


def test_a_function_is_pending_then_active_and_updates_are_in_progress_then_successful(cloud):
    role = create_role(cloud.client("iam"), "r", "lambda.amazonaws.com")
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    functions = cloud.client("lambda")
    created = functions.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="index.handler",
                                        Code={"ZipFile": b"PK\x05\x06" + bytes(18)})
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    assert "LastUpdateStatus" not in created

    def state() -> tuple[str, str]:
        configuration = functions.get_function(FunctionName="f")["Configuration"]
        return configuration["State"], configuration["LastUpdateStatus"]

    assert state() == ("Pending", "InProgress")
    with pytest.raises(ClientError) as busy:
        functions.update_function_configuration(FunctionName="f", Timeout=10)
    assert error(busy) == (409, "ResourceConflictException", "The operation cannot be performed at this time. "
                           f"An update is in progress for resource: {created['FunctionArn']}")
    cloud.clock.advance(2)
    assert state() == ("Active", "Successful")

    updated = functions.update_function_configuration(FunctionName="f", Timeout=10)
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    assert state() == ("Active", "InProgress")
    cloud.clock.advance(2)
    assert state() == ("Active", "Successful")
    assert functions.get_waiter("function_updated_v2").wait(FunctionName="f") is None


def test_a_training_job_starts_its_instances_and_downloads_its_image_first(cloud):
    role = create_role(cloud.client("iam"), "r")
    cloud.clock.advance(strict.ROLE_UNASSUMABLE_UNTIL)
    s3, sagemaker = cloud.client("s3"), cloud.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    sagemaker.create_training_job(**training_job(role, "job", put_object(s3, "d/data.csv", csv_rows())))

    def job() -> dict:
        return sagemaker.describe_training_job(TrainingJobName="job")

    starting = job()
    assert (starting["TrainingJobStatus"], starting["SecondaryStatus"]) == ("InProgress", "Starting")
    assert starting["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Launching requested ML instances"
    cloud.clock.advance(120)
    downloading = eventually(job, lambda j: j["SecondaryStatus"] == "Training")
    assert downloading["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Downloading the training image"
    assert downloading["SecondaryStatusTransitions"][0]["StatusMessage"] == "Preparing the instances for training"
    cloud.clock.advance(150)
    done = eventually(job, lambda j: j["TrainingJobStatus"] != "InProgress")
    assert done["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in done["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]


def test_the_endpoint_takes_aws_time_in_the_latency_model(cloud):
    assert latency.duration("endpoint.create") == 480


def test_without_the_latency_model_only_strict_endpoints_take_time():
    with local_cloud(strict=False):
        assert latency.duration("endpoint.create") == latency.duration("notebook.start") == 0
    with local_cloud():
        assert latency.duration("endpoint.create") == 30 and latency.duration("notebook.start") == 0


def documented_table(text: str) -> dict[str, tuple[float, float]]:
    rows = re.findall(r"^\|\s*`?([a-z_]+\.[a-z_]+)`?\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", text, re.MULTILINE)
    return {name: (float(aws), float(strict_seconds)) for name, aws, strict_seconds in rows}


@pytest.mark.parametrize("text", [latency.__doc__, README.read_text()], ids=["docstring", "README"])
def test_the_documented_latency_table_is_the_one_played(text):
    played = {name: (t.aws, t.strict) for name, t in latency.TRANSITIONS.items()}
    assert documented_table(text) == played
