"""Strict mode, its switches and the latency model over HTTP: boto3 against the local cloud's server.

The strict server's clock stands still (a huge time scale) and each test moves it on
through the server's clock control, so every window is crossed exactly when the test
says; the latency model's server runs in (scaled) real time, and its test polls.
Nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from mysfits_cli.local import strict
from tests.support.calls import (
    BUCKET, create_role, csv_rows, error, eventually, model_and_config, model_archive, put_object, training_job,
    vpc_link_api, wire_body,
)
from tests.support.cloud import start_server
from tests.support.emulation import FROZEN

pytestmark = pytest.mark.e2e

NO_RETRIES = {"retries": {"total_max_attempts": 1}}


@pytest.fixture(scope="module")
def strict_server():
    with start_server(seed=False, strict=True, time_scale=FROZEN, latency="none") as server:
        yield server


def client(server, service: str, region: str | None = None):
    return server.client(service, region, **NO_RETRIES)


def test_the_server_reports_its_settings(strict_server):
    import urllib.request

    with urllib.request.urlopen(strict_server.url + "/_mysfits/health", timeout=5) as response:
        health = json.loads(response.read())
    assert health["settings"] == strict_server.settings.to_record()
    assert health["settings"]["strict"] is True


def test_delete_rest_api_is_throttled_with_aws_429(strict_server):
    gateway = client(strict_server, "apigateway")
    first, second = (gateway.create_rest_api(name=f"quota-{n}")["id"] for n in range(2))
    strict_server.advance(strict.DELETE_REST_API_WINDOW)
    bodies = wire_body(gateway, "DeleteRestApi")
    gateway.delete_rest_api(restApiId=first)
    with pytest.raises(ClientError) as caught:
        gateway.delete_rest_api(restApiId=second)
    assert error(caught) == (429, "TooManyRequestsException", "Too Many Requests")
    assert bodies[-1] == {"message": "Too Many Requests"}
    assert int(caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    strict_server.advance(strict.DELETE_REST_API_WINDOW)
    gateway.delete_rest_api(restApiId=second)


def test_a_new_role_is_refused_by_sagemaker_and_lambda_then_accepted(strict_server):
    iam, sagemaker, functions = (client(strict_server, s) for s in ("iam", "sagemaker", "lambda"))
    role = create_role(iam, "e2e-fresh")
    lambda_role = create_role(iam, "e2e-fresh-lambda", "lambda.amazonaws.com")
    with pytest.raises(ClientError) as notebook:
        sagemaker.create_notebook_instance(NotebookInstanceName="e2e-nb", InstanceType="ml.t3.medium", RoleArn=role)
    assert error(notebook)[:2] == (400, "ValidationException")
    assert error(notebook)[2].startswith(f'The execution role ARN "{role}" is invalid.')
    with pytest.raises(ClientError) as training:
        sagemaker.create_training_job(**training_job(role, "e2e-early", f"s3://{BUCKET}/x"))
    assert error(training)[2].startswith(f"Could not assume role {role}.")
    spec = {"FunctionName": "e2e-f", "Runtime": "python3.12", "Role": lambda_role, "Handler": "index.handler",
            "Code": {"ZipFile": b"PK\x05\x06" + bytes(18)}}
    with pytest.raises(ClientError) as function:
        functions.create_function(**spec)
    assert error(function) == (400, "InvalidParameterValueException",
                               "The role defined for the function cannot be assumed by Lambda.")

    strict_server.advance(strict.ROLE_REFUSED_FOR)
    sagemaker.create_notebook_instance(NotebookInstanceName="e2e-nb", InstanceType="ml.t3.medium", RoleArn=role)
    assert functions.create_function(**spec)["State"] == "Active"


def test_a_training_job_accepted_too_early_fails_to_assume_its_role(strict_server):
    iam, s3, sagemaker = (client(strict_server, s) for s in ("iam", "s3", "sagemaker"))
    s3.create_bucket(Bucket=BUCKET)
    data = put_object(s3, "e2e-train/data.csv", csv_rows())
    role = create_role(iam, "e2e-trainer")
    strict_server.advance(strict.ROLE_REFUSED_FOR)
    sagemaker.create_training_job(**training_job(role, "e2e-unassumable", data))
    failed = eventually(lambda: sagemaker.describe_training_job(TrainingJobName="e2e-unassumable"),
                        lambda job: job["TrainingJobStatus"] != "InProgress")
    assert failed["TrainingJobStatus"] == "Failed"
    assert failed["FailureReason"] == f"ClientError: SageMaker was unable to assume the role '{role}'"


@pytest.fixture(scope="module")
def hosting(strict_server):
    iam, s3, sagemaker = (client(strict_server, s) for s in ("iam", "s3", "sagemaker"))
    role = create_role(iam, "e2e-host")
    strict_server.advance(strict.ROLE_REFUSED_FOR)
    s3.create_bucket(Bucket=BUCKET)
    good = put_object(s3, "e2e-good/model.tar.gz", model_archive())
    corrupt = put_object(s3, "e2e-corrupt/model.tar.gz", b"not a model")
    configs = {name: model_and_config(sagemaker, f"e2e-{name}", url, role) for name, url in (("good", good),
                                                                                              ("corrupt", corrupt))}
    return sagemaker, configs


def status(sagemaker, name: str) -> dict:
    return sagemaker.describe_endpoint(EndpointName=name)


def predict(server, name: str) -> list:
    runtime = client(server, "sagemaker-runtime")
    return json.loads(runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2,3,4,5")["Body"].read())


def test_an_endpoint_with_a_corrupt_model_fails(strict_server, hosting):
    sagemaker, configs = hosting
    sagemaker.create_endpoint(EndpointName="e2e-broken", EndpointConfigName=configs["corrupt"])
    assert status(sagemaker, "e2e-broken")["EndpointStatus"] == "Creating"
    strict_server.advance(30)
    failed = status(sagemaker, "e2e-broken")
    assert failed["EndpointStatus"] == "Failed"
    assert failed["FailureReason"].startswith('Failed to extract model data archive for container "container_1"')


def test_a_failed_update_rolls_back_and_keeps_serving(strict_server, hosting):
    sagemaker, configs = hosting
    arn = sagemaker.create_endpoint(EndpointName="e2e-served", EndpointConfigName=configs["good"])["EndpointArn"]
    with pytest.raises(ClientError) as busy:
        sagemaker.update_endpoint(EndpointName="e2e-served", EndpointConfigName=configs["corrupt"])
    assert error(busy) == (400, "ValidationException", f'Cannot update in-progress endpoint "{arn}".')
    strict_server.advance(30)
    before = predict(strict_server, "e2e-served")

    sagemaker.update_endpoint(EndpointName="e2e-served", EndpointConfigName=configs["corrupt"])
    assert status(sagemaker, "e2e-served")["EndpointStatus"] == "Updating"
    assert predict(strict_server, "e2e-served") == before
    strict_server.advance(30)
    after = status(sagemaker, "e2e-served")
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", configs["good"])
    assert "valid tar.gz archive" in after["FailureReason"]
    assert predict(strict_server, "e2e-served") == before


def test_older_instance_types_are_refused_in_a_newer_region(strict_server):
    iam, sagemaker = client(strict_server, "iam"), client(strict_server, "sagemaker", "il-central-1")
    role = create_role(iam, "e2e-israel")
    strict_server.advance(strict.ROLE_REFUSED_FOR)
    with pytest.raises(ClientError) as refused:
        sagemaker.create_notebook_instance(NotebookInstanceName="e2e-t2", InstanceType="ml.t2.medium", RoleArn=role)
    assert error(refused) == (400, "ValidationException", "Unsupported instance type ml.t2.medium")
    sagemaker.create_notebook_instance(NotebookInstanceName="e2e-t3", InstanceType="ml.t3.medium", RoleArn=role)


def test_a_notebook_in_service_cannot_be_deleted(strict_server):
    iam, sagemaker = client(strict_server, "iam"), client(strict_server, "sagemaker")
    role = create_role(iam, "e2e-notebook")
    strict_server.advance(strict.ROLE_REFUSED_FOR)
    sagemaker.create_notebook_instance(NotebookInstanceName="e2e-delete-me", InstanceType="ml.t3.medium", RoleArn=role)
    with pytest.raises(ClientError, match=r"Status \(InService\) not in \(\[Stopped, Failed\]\)"):
        sagemaker.delete_notebook_instance(NotebookInstanceName="e2e-delete-me")
    sagemaker.stop_notebook_instance(NotebookInstanceName="e2e-delete-me")
    sagemaker.delete_notebook_instance(NotebookInstanceName="e2e-delete-me")


def test_a_vpc_link_in_use_cannot_be_deleted(strict_server):
    gateway = client(strict_server, "apigateway")
    link = gateway.create_vpc_link(name="e2e-link", targetArns=["arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                                                 "loadbalancer/net/nlb/1"])["id"]
    api = vpc_link_api(gateway, link)
    gateway.create_deployment(restApiId=api, stageName="prod")
    with pytest.raises(ClientError) as caught:
        gateway.delete_vpc_link(vpcLinkId=link)
    code, kind, message = error(caught)
    assert (code, kind) == (400, "BadRequestException")
    assert message.startswith(f"Cannot delete vpc link. Vpc link '{link}', is referenced in [{api}:GET:")
    strict_server.advance(strict.DELETE_REST_API_WINDOW)
    gateway.delete_rest_api(restApiId=api)
    gateway.delete_vpc_link(vpcLinkId=link)


def test_the_latency_model_and_the_switches():
    """Lenient, so only the latency model and the two switches are at play."""
    with start_server(seed=False, strict=False, latency="aws", time_scale=FROZEN, codecommit="closed",
                      endpoint_delay=0.5) as server:
        gateway, iam, functions, s3, sagemaker = (
            client(server, s) for s in ("apigateway", "iam", "lambda", "s3", "sagemaker"))
        link = gateway.create_vpc_link(name="slow-link", targetArns=["arn:aws:elasticloadbalancing:us-east-1:"
                                                                      "123456789012:loadbalancer/net/nlb/1"])
        assert link["status"] == "PENDING"
        server.advance(180)
        assert gateway.get_vpc_link(vpcLinkId=link["id"])["status"] == "AVAILABLE"

        function = {"FunctionName": "slow-f", "Runtime": "python3.12", "Handler": "index.handler",
                    "Role": create_role(iam, "slow-f", "lambda.amazonaws.com"),
                    "Code": {"ZipFile": b"PK\x05\x06" + bytes(18)}}
        assert functions.create_function(**function)["State"] == "Pending"
        assert functions.get_function(FunctionName="slow-f")["Configuration"]["LastUpdateStatus"] == "InProgress"
        server.advance(2)
        assert functions.get_function(FunctionName="slow-f")["Configuration"]["State"] == "Active"

        role = create_role(iam, "slow")
        sagemaker.create_notebook_instance(NotebookInstanceName="slow-nb", InstanceType="ml.t3.medium", RoleArn=role)
        assert sagemaker.describe_notebook_instance(NotebookInstanceName="slow-nb")["NotebookInstanceStatus"] == "Pending"
        server.advance(600)
        assert sagemaker.describe_notebook_instance(NotebookInstanceName="slow-nb")["NotebookInstanceStatus"] == "InService"

        with pytest.raises(ClientError) as closed:
            client(server, "codecommit").create_repository(repositoryName="recommendations")
        assert error(closed) == (400, "OperationNotAllowedException",
                                 "CreateRepository request is not allowed because there is no existing repository "
                                 "in this AWS account or AWS Organization")

        s3.create_bucket(Bucket=BUCKET)
        config = model_and_config(sagemaker, "slow", put_object(s3, "slow/model.tar.gz", model_archive()), role)
        sagemaker.create_endpoint(EndpointName="slow", EndpointConfigName=config)
        assert status(sagemaker, "slow")["EndpointStatus"] == "Creating"
        server.advance(480)
        assert status(sagemaker, "slow")["EndpointStatus"] == "InService"
        impatient = server.client("sagemaker-runtime", read_timeout=0.1, retries={"total_max_attempts": 1})
        with pytest.raises(ReadTimeoutError):
            impatient.invoke_endpoint(EndpointName="slow", ContentType="text/csv", Body=b"1,2,3,4,5")
        assert predict(server, "slow")["predictions"]


def mysfits(home, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MYSFITS_LOCAL_"))}
    env.update(MYSFITS_LOCAL_HOME=str(home), COLUMNS="300")
    return subprocess.run([sys.executable, "-m", "mysfits_cli.cli", *args], capture_output=True, text=True,
                          cwd=home, env=env, stdin=subprocess.DEVNULL, timeout=120)


def test_local_start_records_the_mode_and_refuses_to_change_it(tmp_path):
    started = mysfits(tmp_path, "local", "start", "--time-scale", "0.01")
    try:
        assert started.returncode == 0, started.stderr
        assert "strict, time scale 0.01, latency none" in started.stdout
        assert json.loads((tmp_path / "cloud.json").read_text())["settings"]["strict"] is True
        assert "strict, time scale 0.01" in mysfits(tmp_path, "local", "status").stdout
        refused = mysfits(tmp_path, "local", "start", "--lenient")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "Error: The local cloud is already running (strict, time scale 0.01, latency none): "
            "run `mysfits local stop` first to start it lenient, time scale 0.01, latency none"]
    finally:
        mysfits(tmp_path, "local", "stop")
