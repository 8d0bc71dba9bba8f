"""Strict mode in-process: each of AWS's rules with AWS's codes, statuses and messages.

The clock is frozen (a huge time scale) and advanced by hand, so every window is
crossed exactly when a test says so; nothing here waits for real time.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mysfits_cli.local import emulation, strict
from mysfits_cli.local import sagemaker as local_sagemaker
from mysfits_cli.local.settings import CloudSettings
from tests.support.calls import (
    BUCKET, create_role, csv_rows, error, eventually, model_and_config, model_archive, put_object, training_job,
    vpc_link_api, wire_body,
)
from tests.support.emulation import NO_RETRIES, Cloud, local_cloud

@pytest.fixture
def cloud():
    with local_cloud() as opened:
        yield opened


# -- DeleteRestApi quota ------------------------------------------------------------------


def test_a_second_delete_rest_api_within_30_seconds_is_throttled(cloud):
    gateway = cloud.client("apigateway")
    first, second, third = (gateway.create_rest_api(name=name)["id"] for name in ("a", "b", "c"))
    bodies = wire_body(gateway, "DeleteRestApi")
    gateway.delete_rest_api(restApiId=first)
    cloud.clock.advance(29)
    with pytest.raises(ClientError) as caught:
        gateway.delete_rest_api(restApiId=second)
    assert error(caught) == (429, "TooManyRequestsException", "Too Many Requests")
    assert bodies[-1] == {"message": "Too Many Requests"}
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["retry-after"]) >= 1 and headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert {api["id"] for api in gateway.get_rest_apis()["items"]} == {second, third}

    cloud.clock.advance(1)
    gateway.delete_rest_api(restApiId=second)
    with pytest.raises(ClientError, match="Too Many Requests"):
        gateway.delete_rest_api(restApiId=third)


def test_the_delete_quota_is_per_region(cloud):
    east, west = cloud.client("apigateway"), cloud.client("apigateway", "eu-west-1")
    east.delete_rest_api(restApiId=east.create_rest_api(name="a")["id"])
    west.delete_rest_api(restApiId=west.create_rest_api(name="b")["id"])


# -- IAM propagation ------------------------------------------------------------------------


def test_sagemaker_refuses_a_new_role_for_notebooks_and_models(cloud):
    role = create_role(cloud.client("iam"), "fresh")
    sagemaker = cloud.client("sagemaker")
    expected = (f'The execution role ARN "{role}" is invalid. Please ensure that the role exists and that its trust '
                'relationship policy allows the action "sts:AssumeRole" for the service principal '
                '"sagemaker.amazonaws.com".')
    with pytest.raises(ClientError) as notebook:
        sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
    assert error(notebook) == (400, "ValidationException", expected)
    with pytest.raises(ClientError) as model:
        sagemaker.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=role)
    assert error(model) == (400, "ValidationException", expected)

    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
    sagemaker.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=role)


def test_a_missing_or_untrusting_role_is_refused_for_good(cloud):
    iam, sagemaker = cloud.client("iam"), cloud.client("sagemaker")
    lambda_only = create_role(iam, "lambda-only", "lambda.amazonaws.com")
    cloud.clock.advance(3600)
    for role in (lambda_only, "arn:aws:iam::123456789012:role/never-created"):
        with pytest.raises(ClientError, match='The execution role ARN ".*" is invalid'):
            sagemaker.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=role)


def test_training_jobs_are_refused_then_fail_then_run(cloud):
    role = create_role(cloud.client("iam"), "trainer")
    s3, sagemaker = cloud.client("s3"), cloud.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    data = put_object(s3, "train/data.csv", csv_rows())
    with pytest.raises(ClientError) as refused:
        sagemaker.create_training_job(**training_job(role, "too-early", data))
    assert error(refused) == (400, "ValidationException",
                              f"Could not assume role {role}. Please ensure that the role exists and allows principal "
                              "'sagemaker.amazonaws.com' to assume the role.")

    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    sagemaker.create_training_job(**training_job(role, "accepted-but-unassumable", data))
    failed = eventually(lambda: sagemaker.describe_training_job(TrainingJobName="accepted-but-unassumable"),
                        lambda job: job["TrainingJobStatus"] != "InProgress")
    assert failed["TrainingJobStatus"] == "Failed"
    assert failed["FailureReason"] == f"ClientError: SageMaker was unable to assume the role '{role}'"

    cloud.clock.advance(strict.ROLE_UNASSUMABLE_UNTIL - strict.ROLE_REFUSED_FOR)
    sagemaker.create_training_job(**training_job(role, "in-time", data))
    done = eventually(lambda: sagemaker.describe_training_job(TrainingJobName="in-time"),
                      lambda job: job["TrainingJobStatus"] != "InProgress")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")


def test_lambda_refuses_a_new_role_on_create_and_on_update(cloud):
    iam, functions = cloud.client("iam"), cloud.client("lambda")
    old = create_role(iam, "old", "lambda.amazonaws.com")
    cloud.clock.advance(60)
    new = create_role(iam, "new", "lambda.amazonaws.com")
    bodies = wire_body(functions, "CreateFunction")
    spec = {"Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": b"PK\x05\x06" + bytes(18)}}
    with pytest.raises(ClientError) as caught:
        functions.create_function(FunctionName="f", Role=new, **spec)
    message = "The role defined for the function cannot be assumed by Lambda."
    assert error(caught) == (400, "InvalidParameterValueException", message)
    assert bodies[-1] == {"Type": "User", "message": message}

    functions.create_function(FunctionName="f", Role=old, **spec)
    with pytest.raises(ClientError, match="cannot be assumed by Lambda"):
        functions.update_function_configuration(FunctionName="f", Role=new)
    functions.update_function_configuration(FunctionName="f", Timeout=10)  # no new role: nothing to refuse
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    assert functions.update_function_configuration(FunctionName="f", Role=new)["Role"] == new


# -- endpoints: honest lifecycle, failure and rollback --------------------------------------


@pytest.fixture
def hosting(cloud):
    iam, s3, sagemaker = cloud.client("iam"), cloud.client("s3"), cloud.client("sagemaker")
    role = create_role(iam, "host")
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    s3.create_bucket(Bucket=BUCKET)
    good = put_object(s3, "good/model.tar.gz", model_archive())
    corrupt = put_object(s3, "corrupt/model.tar.gz", b"not a tar.gz at all")
    missing = f"s3://{BUCKET}/missing/model.tar.gz"
    configs = {name: model_and_config(sagemaker, name, url, role) for name, url in
               (("good", good), ("corrupt", corrupt), ("missing", missing))}
    return sagemaker, configs, {"good": good, "corrupt": corrupt, "missing": missing}


def describe(sagemaker, name: str) -> dict[str, Any]:
    return sagemaker.describe_endpoint(EndpointName=name)


def invoke(cloud: Cloud, name: str) -> list[Any]:
    answer = cloud.client("sagemaker-runtime").invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2,3,4,5")
    return json.loads(answer["Body"].read())["predictions"]


def test_an_endpoint_is_creating_then_in_service(cloud, hosting):
    sagemaker, configs, _ = hosting
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=configs["good"])
    assert describe(sagemaker, "e")["EndpointStatus"] == "Creating"
    cloud.clock.advance(30)
    assert describe(sagemaker, "e")["EndpointStatus"] == "InService"
    assert invoke(cloud, "e")


@pytest.mark.parametrize(("model", "reason"), [
    ("corrupt", 'Failed to extract model data archive for container "container_1" from URL "{url}". '
                "Please ensure that the object located at the URL is a valid tar.gz archive."),
    ("missing", 'Failed to download model data for container "container_1" from URL: "{url}". Please ensure that '
                "there is an object located at the URL and that the role passed to CreateModel has permissions to "
                "download the object."),
])
def test_an_endpoint_whose_model_cannot_be_loaded_fails(cloud, hosting, model, reason):
    sagemaker, configs, urls = hosting
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=configs[model])
    cloud.clock.advance(30)
    described = describe(sagemaker, "e")
    assert (described["EndpointStatus"], described["FailureReason"]) == ("Failed", reason.format(url=urls[model]))


def test_a_failed_update_rolls_back_to_the_old_config_and_keeps_serving(cloud, hosting):
    sagemaker, configs, urls = hosting
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=configs["good"])
    cloud.clock.advance(30)
    before = invoke(cloud, "e")

    sagemaker.update_endpoint(EndpointName="e", EndpointConfigName=configs["corrupt"])
    updating = describe(sagemaker, "e")
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", configs["good"])
    assert invoke(cloud, "e") == before  # the old config serves during the update
    cloud.clock.advance(30)
    rolled_back = describe(sagemaker, "e")
    assert (rolled_back["EndpointStatus"], rolled_back["EndpointConfigName"]) == ("InService", configs["good"])
    assert rolled_back["FailureReason"].startswith(f'Failed to extract model data archive for container "container_1" '
                                                   f'from URL "{urls["corrupt"]}"')
    assert invoke(cloud, "e") == before

    sagemaker.update_endpoint(EndpointName="e", EndpointConfigName=configs["good"])
    cloud.clock.advance(30)
    healed = describe(sagemaker, "e")
    assert healed["EndpointStatus"] == "InService" and "FailureReason" not in healed


def test_an_endpoint_in_progress_can_be_neither_updated_nor_deleted(cloud, hosting):
    sagemaker, configs, _ = hosting
    arn = sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=configs["good"])["EndpointArn"]
    for call in (lambda: sagemaker.update_endpoint(EndpointName="e", EndpointConfigName=configs["good"]),
                 lambda: sagemaker.delete_endpoint(EndpointName="e")):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == (400, "ValidationException", f'Cannot update in-progress endpoint "{arn}".')
    cloud.clock.advance(30)
    sagemaker.delete_endpoint(EndpointName="e")
    assert describe(sagemaker, "e")["EndpointStatus"] == "Deleting"
    cloud.clock.advance(30)
    with pytest.raises(ClientError, match="Could not find endpoint"):
        describe(sagemaker, "e")


# -- instance types by region -----------------------------------------------------------------


def test_older_instance_types_are_refused_in_newer_regions():
    with local_cloud("il-central-1") as cloud:
        iam, s3, sagemaker = cloud.client("iam"), cloud.client("s3"), cloud.client("sagemaker")
        role = create_role(iam, "r")
        cloud.clock.advance(strict.ROLE_REFUSED_FOR)
        for call, instance_type in (
            (lambda t: sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType=t, RoleArn=role),
             "ml.t2.medium"),
            (lambda t: sagemaker.create_training_job(**training_job(role, "job", "s3://b/d", t)), "ml.m4.xlarge"),
        ):
            with pytest.raises(ClientError) as caught:
                call(instance_type)
            assert error(caught) == (400, "ValidationException", f"Unsupported instance type {instance_type}")

        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "il-central-1"})
        artifact = put_object(s3, "m/model.tar.gz", model_archive())
        config = model_and_config(sagemaker, "m4", artifact, role, "ml.m4.xlarge")  # a config is only a document
        with pytest.raises(ClientError, match="Unsupported instance type ml.m4.xlarge"):
            sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=config)

        sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=model_and_config(sagemaker, "t3", artifact, role,
                                                                                       "ml.t3.medium"))


def test_older_instance_types_are_accepted_where_offered(cloud):
    role = create_role(cloud.client("iam"), "r")
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    cloud.client("sagemaker").create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=role)


# -- notebook instances and VPC links ----------------------------------------------------------


def test_a_notebook_must_be_stopped_before_it_is_deleted(cloud):
    role = create_role(cloud.client("iam"), "r")
    cloud.clock.advance(strict.ROLE_REFUSED_FOR)
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
    arn = sagemaker.describe_notebook_instance(NotebookInstanceName="nb")["NotebookInstanceArn"]
    with pytest.raises(ClientError) as deleting:
        sagemaker.delete_notebook_instance(NotebookInstanceName="nb")
    assert error(deleting) == (400, "ValidationException", "Status (InService) not in ([Stopped, Failed]). "
                               f"Unable to transition to (Deleting) for Notebook Instance ({arn})")
    with pytest.raises(ClientError) as starting:
        sagemaker.start_notebook_instance(NotebookInstanceName="nb")
    assert error(starting)[2] == ("Status (InService) not in ([Stopped, Failed]). "
                                  f"Unable to transition to (Pending) for Notebook Instance ({arn}).")
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    with pytest.raises(ClientError) as stopping:
        sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    assert error(stopping)[2] == ("Status (Stopped) not in ([InService]). "
                                  f"Unable to transition to (Stopping) for Notebook Instance ({arn}).")
    sagemaker.delete_notebook_instance(NotebookInstanceName="nb")


def test_a_vpc_link_cannot_be_deleted_while_a_deployed_api_uses_it(cloud):
    gateway = cloud.client("apigateway")
    link = gateway.create_vpc_link(name="link", targetArns=["arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                                             "loadbalancer/net/nlb/1"])["id"]
    api = vpc_link_api(gateway, link)
    gateway.create_deployment(restApiId=api, stageName="prod")
    resource = next(r["id"] for r in gateway.get_resources(restApiId=api)["items"] if r["path"] == "/mysfits")
    bodies = wire_body(gateway, "DeleteVpcLink")
    with pytest.raises(ClientError) as caught:
        gateway.delete_vpc_link(vpcLinkId=link)
    message = (f"Cannot delete vpc link. Vpc link '{link}', is referenced in [{api}:GET:{resource}:prod] "
               "in format of [RESTApiId:Method:Resource:Stage].")
    assert error(caught) == (400, "BadRequestException", message)
    assert bodies[-1] == {"message": message}

    gateway.delete_rest_api(restApiId=api)
    gateway.delete_vpc_link(vpcLinkId=link)
    assert gateway.get_vpc_links()["items"] == []


# -- the CodeCommit switch ---------------------------------------------------------------------


@pytest.mark.parametrize("strict_mode", [True, False])
def test_codecommit_closed_refuses_the_first_repository(strict_mode):
    with local_cloud(strict=strict_mode, codecommit="closed") as cloud:
        codecommit = cloud.client("codecommit")
        with pytest.raises(ClientError) as caught:
            codecommit.create_repository(repositoryName="recommendations")
        assert error(caught) == (400, "OperationNotAllowedException",
                                 "CreateRepository request is not allowed because there is no existing repository "
                                 "in this AWS account or AWS Organization")


def test_codecommit_is_open_by_default(cloud):
    cloud.client("codecommit").create_repository(repositoryName="recommendations")


# -- the slow endpoint switch -----------------------------------------------------------------


def test_the_endpoint_delay_holds_every_answer(monkeypatch):
    held: list[float] = []
    monkeypatch.setattr(local_sagemaker.time, "sleep", held.append)
    with local_cloud(endpoint_delay=31) as cloud:
        iam, s3, sagemaker = cloud.client("iam"), cloud.client("s3"), cloud.client("sagemaker")
        role = create_role(iam, "r")
        cloud.clock.advance(strict.ROLE_REFUSED_FOR)
        s3.create_bucket(Bucket=BUCKET)
        config = model_and_config(sagemaker, "m", put_object(s3, "m/model.tar.gz", model_archive()), role)
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=config)
        cloud.clock.advance(30)
        assert invoke(cloud, "e")
    assert held == [31]


# -- lenient mode, installing and uninstalling ------------------------------------------------


def test_lenient_mode_plays_none_of_the_rules():
    with local_cloud(strict=False) as cloud:
        gateway, sagemaker = cloud.client("apigateway"), cloud.client("sagemaker")
        for name in ("a", "b"):
            gateway.delete_rest_api(restApiId=gateway.create_rest_api(name=name)["id"])
        role = create_role(cloud.client("iam"), "r")
        sagemaker.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=role)


def patched_attributes() -> dict[str, Any]:
    from moto.apigateway.models import APIGatewayBackend
    from moto.apigateway.responses import APIGatewayResponse
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.codecommit.responses import CodeCommitResponse
    from moto.iam.models import IAMBackend
    from moto.sagemaker.models import FakeSagemakerNotebookInstance, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    owners = (APIGatewayBackend, APIGatewayResponse, LambdaBackend, LambdaFunction, LambdaResponse, CodeCommitResponse,
              IAMBackend, FakeSagemakerNotebookInstance, SageMakerModelBackend, SageMakerResponse)
    return {f"{owner.__name__}.{name}": value for owner in owners for name, value in vars(owner).items()}


def test_install_is_idempotent_and_uninstall_leaves_nothing_behind():
    from mysfits_cli.local import patches

    patches.apply()  # the moto fixes stay for the life of the process, by design
    before = patched_attributes()
    settings = CloudSettings(latency="aws", codecommit="closed")
    first = emulation.install(settings)
    installed = patched_attributes()
    assert emulation.install(CloudSettings(strict=False)) is first
    assert patched_attributes() == installed != before
    with mock_aws():
        gateway = boto3.client("apigateway", region_name="us-east-1", config=NO_RETRIES)
        gateway.delete_rest_api(restApiId=gateway.create_rest_api(name="a")["id"])
    emulation.uninstall()
    assert patched_attributes() == before
    assert not strict._last_rest_api_delete and not strict._role_created
    emulation.uninstall()  # a second uninstall is harmless


def test_retry_after_is_whole_seconds_but_keeps_a_window_shorter_than_one_second():
    assert strict.retry_after_header(29.2) == "30"
    assert strict.retry_after_header(1.0) == "1"
    assert strict.retry_after_header(0.006) == "0.006"  # at the default time scale the window lasts 6 ms
    assert strict.retry_after_header(0.0) == "0.001"
