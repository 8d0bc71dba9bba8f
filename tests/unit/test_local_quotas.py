"""The local cloud's Service Quotas for SageMaker, SageMaker's quota enforcement, and IAM's policy simulator,
in-process with boto3, each answer as AWS gives it."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_cli.local import quotas, strict
from tests.support.calls import BUCKET, create_role, csv_rows, error, model_and_config, model_archive, put_object, training_job
from tests.support.emulation import local_cloud

NO_RETRIES = Config(retries={"total_max_attempts": 1})
ACCOUNT = "123456789012"


@pytest.fixture
def new_account():
    with local_cloud(account="new") as cloud:
        yield cloud


def applied(cloud, name: str) -> dict:
    pages = cloud.client("service-quotas").get_paginator("list_service_quotas").paginate(ServiceCode="sagemaker")
    return {q["QuotaName"]: q for page in pages for q in page["Quotas"]}.get(name)


def limit_message(name: str, applied_value: int, used: int, delta: int) -> str:
    return (f"The account-level service limit '{name}' is {applied_value} Instances, with current utilization of "
            f"{used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to request an "
            "increase for this quota.")


# -- Service Quotas --------------------------------------------------------------------------------


def test_a_new_account_has_nothing_for_the_workshops_types_and_a_little_for_cheap_ones(new_account):
    client = new_account.client("service-quotas")
    pages = list(client.get_paginator("list_service_quotas").paginate(ServiceCode="sagemaker"))
    assert len(pages) > 1 and all(len(page["Quotas"]) <= 100 for page in pages)
    endpoint = applied(new_account, "ml.m4.xlarge for endpoint usage")
    assert endpoint["Value"] == 0 and endpoint["QuotaCode"].startswith("L-") and len(endpoint["QuotaCode"]) == 10
    assert endpoint["QuotaArn"] == f"arn:aws:servicequotas:us-east-1:{ACCOUNT}:sagemaker/{endpoint['QuotaCode']}"
    assert applied(new_account, "ml.m5.2xlarge for training job usage")["Value"] == 0
    assert applied(new_account, "ml.t2.medium for notebook instance usage")["Value"] == 1
    assert applied(new_account, "ml.t3.medium for endpoint usage")["Value"] == 1  # a type botocore's enum omits
    assert client.get_service_quota(ServiceCode="sagemaker", QuotaCode=endpoint["QuotaCode"])["Quota"]["Value"] == 0
    default = client.get_aws_default_service_quota(ServiceCode="sagemaker", QuotaCode=endpoint["QuotaCode"])["Quota"]
    assert default["Value"] == quotas.DEFAULT_INSTANCES


def test_an_established_account_applies_the_defaults_to_the_families_it_knows():
    with local_cloud() as cloud:
        assert applied(cloud, "ml.m4.xlarge for endpoint usage")["Value"] == quotas.DEFAULT_INSTANCES
        assert applied(cloud, "ml.g5.xlarge for endpoint usage") is None  # no applied value: the default holds
        client = cloud.client("service-quotas")
        code = quotas.quota_code("ml.g5.xlarge for endpoint usage")
        with pytest.raises(ClientError) as caught:
            client.get_service_quota(ServiceCode="sagemaker", QuotaCode=code)
        assert error(caught)[1] == "NoSuchResourceException"
        defaults = [q for page in client.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode="sagemaker")
                    for q in page["Quotas"]]
        assert {"ml.g5.xlarge for endpoint usage", "ml.m5.2xlarge for training job usage"} <= {q["QuotaName"] for q in defaults}


def test_an_increase_is_approved_at_once(new_account):
    client = new_account.client("service-quotas")
    code = applied(new_account, "ml.m4.xlarge for endpoint usage")["QuotaCode"]
    requested = client.request_service_quota_increase(ServiceCode="sagemaker", QuotaCode=code, DesiredValue=2)
    assert requested["RequestedQuota"]["Status"] == "APPROVED"
    assert client.get_service_quota(ServiceCode="sagemaker", QuotaCode=code)["Quota"]["Value"] == 2


def test_a_caller_whose_policy_does_not_allow_it_is_refused(new_account):
    keys = user_keys(new_account, "blind", [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                             {"Effect": "Deny", "Action": "servicequotas:*", "Resource": "*"}])
    client = boto3.client("service-quotas", region_name="us-east-1", config=NO_RETRIES, **keys)
    with pytest.raises(ClientError) as caught:
        client.list_service_quotas(ServiceCode="sagemaker")
    assert error(caught) == (400, "AccessDeniedException", "You do not have sufficient permission to perform this action.")


# -- SageMaker enforces them (strict) ---------------------------------------------------------------


def test_each_create_over_quota_is_resource_limit_exceeded_counting_what_runs(new_account):
    iam, s3, sagemaker = new_account.client("iam"), new_account.client("s3"), new_account.client("sagemaker")
    role = create_role(iam, "quota-role")
    new_account.clock.advance(strict.ROLE_REFUSED_FOR)

    with pytest.raises(ClientError) as notebook:
        sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.m5.xlarge", RoleArn=role)
    assert error(notebook) == (400, "ResourceLimitExceeded",
                               limit_message("ml.m5.xlarge for notebook instance usage", 0, 0, 1))
    sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=role)
    with pytest.raises(ClientError, match=r"'ml.t2.medium for notebook instance usage' is 1 Instances, with current "
                                          r"utilization of 1 Instances and a request delta of 1"):
        sagemaker.create_notebook_instance(NotebookInstanceName="nb2", InstanceType="ml.t2.medium", RoleArn=role)

    s3.create_bucket(Bucket=BUCKET)
    data = put_object(s3, "train/data.csv", csv_rows())
    with pytest.raises(ClientError) as training:
        sagemaker.create_training_job(**training_job(role, "defaults", data))
    assert error(training) == (400, "ResourceLimitExceeded",
                               limit_message("ml.m5.2xlarge for training job usage", 0, 0, 1))
    assert not sagemaker.list_training_jobs()["TrainingJobSummaries"]  # refused: nothing was made

    model = put_object(s3, "model/model.tar.gz", model_archive())
    default_config = model_and_config(sagemaker, "workshop", model, role, "ml.m4.xlarge")
    with pytest.raises(ClientError) as endpoint:
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=default_config)
    assert error(endpoint) == (400, "ResourceLimitExceeded", limit_message("ml.m4.xlarge for endpoint usage", 0, 0, 1))


def test_an_update_needs_room_for_both_fleets(new_account):
    iam, s3, sagemaker = new_account.client("iam"), new_account.client("s3"), new_account.client("sagemaker")
    role = create_role(iam, "host-role")
    new_account.clock.advance(strict.ROLE_REFUSED_FOR)
    s3.create_bucket(Bucket=BUCKET)
    model = put_object(s3, "model/model.tar.gz", model_archive())
    small = model_and_config(sagemaker, "small", model, role, "ml.t2.medium")
    other = model_and_config(sagemaker, "other", model, role, "ml.t2.medium")
    moved = model_and_config(sagemaker, "moved", model, role, "ml.t3.medium")
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName=small)
    new_account.clock.advance(30)
    with pytest.raises(ClientError) as caught:  # the new fleet starts while the old one serves
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName=other)
    assert error(caught)[2] == limit_message("ml.t2.medium for endpoint usage", 1, 1, 1)
    sagemaker.update_endpoint(EndpointName="e", EndpointConfigName=moved)
    assert sagemaker.describe_endpoint(EndpointName="e")["EndpointStatus"] == "Updating"
    assert quotas.in_use(ACCOUNT, "us-east-1", "hosting") == {"ml.t2.medium": 1, "ml.t3.medium": 1}
    new_account.clock.advance(30)
    assert quotas.in_use(ACCOUNT, "us-east-1", "hosting") == {"ml.t3.medium": 1}


def test_lenient_mode_answers_quotas_and_enforces_none():
    with local_cloud(strict=False, account="new") as cloud:
        assert applied(cloud, "ml.m4.xlarge for endpoint usage")["Value"] == 0
        role = create_role(cloud.client("iam"), "r")
        cloud.client("sagemaker").create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.m5.xlarge",
                                                           RoleArn=role)


# -- IAM's policy simulator ---------------------------------------------------------------------------


def user_keys(cloud, name: str, statements: list[dict]) -> dict[str, str]:
    """An IAM user of the local cloud with one inline policy; its credentials, for boto3."""
    iam = cloud.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def simulate(cloud, source: str, actions: list[str], resource: str = "*", context: dict | None = None) -> dict[str, str]:
    entries = [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in (context or {}).items()]
    answer = cloud.client("iam").simulate_principal_policy(PolicySourceArn=source, ActionNames=actions,
                                                           ResourceArns=[resource], ContextEntries=entries)
    return {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


def test_the_default_identity_may_do_everything(new_account):
    assert simulate(new_account, f"arn:aws:sts::{ACCOUNT}:user/moto", ["sagemaker:CreateEndpoint", "iam:PassRole"]) == {
        "sagemaker:CreateEndpoint": "allowed", "iam:PassRole": "allowed"}


def test_a_users_policies_groups_and_conditions_decide(new_account):
    iam = new_account.client("iam")
    user_keys(new_account, "dev", [
        {"Effect": "Allow", "Action": "SageMaker:*", "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"},
        {"Effect": "Deny", "Action": "sagemaker:CreateEndpoint", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/mysfits-*",
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
    ])
    iam.create_group(GroupName="readers")
    policy = iam.create_policy(PolicyName="read-s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": ["s3:Put*", "s3:Delete*"], "Resource": "arn:aws:s3:::*"}]}))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy)
    iam.add_user_to_group(GroupName="readers", UserName="dev")
    dev = iam.get_user(UserName="dev")["User"]["Arn"]
    endpoint = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/knn"
    assert simulate(new_account, dev, ["sagemaker:createmodel", "sagemaker:CreateEndpoint", "ecr:GetAuthorizationToken"],
                    endpoint) == {"sagemaker:createmodel": "allowed", "sagemaker:CreateEndpoint": "explicitDeny",
                                  "ecr:GetAuthorizationToken": "implicitDeny"}
    role = f"arn:aws:iam::{ACCOUNT}:role/mysfits-notebook-role"
    assert simulate(new_account, dev, ["iam:PassRole"], role, {"iam:PassedToService": "sagemaker.amazonaws.com"}) == {
        "iam:PassRole": "allowed"}
    assert simulate(new_account, dev, ["iam:PassRole"], role, {"iam:PassedToService": "lambda.amazonaws.com"}) == {
        "iam:PassRole": "implicitDeny"}
    assert simulate(new_account, dev, ["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::bucket/key") == {
        "s3:GetObject": "allowed", "s3:PutObject": "implicitDeny"}


def test_an_assumed_roles_policies_are_its_roles_and_unknown_sources_are_no_such_entity(new_account):
    iam = new_account.client("iam")
    iam.create_role(RoleName="admin", Path="/teams/", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="admin", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}]}))
    assert simulate(new_account, f"arn:aws:iam::{ACCOUNT}:role/teams/admin", ["sagemaker:DescribeEndpoint",
                                                                              "sagemaker:CreateEndpoint"]) == {
        "sagemaker:DescribeEndpoint": "allowed", "sagemaker:CreateEndpoint": "implicitDeny"}
    with pytest.raises(ClientError) as caught:
        simulate(new_account, f"arn:aws:iam::{ACCOUNT}:user/nobody", ["s3:GetObject"])
    assert error(caught)[1] == "NoSuchEntity"


def test_simulating_needs_permission_to_simulate(new_account):
    keys = user_keys(new_account, "no-sim", [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}])
    iam = boto3.client("iam", region_name="us-east-1", config=NO_RETRIES, **keys)
    source = f"arn:aws:iam::{ACCOUNT}:user/no-sim"
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["sagemaker:CreateEndpoint"])
    assert error(caught) == (403, "AccessDenied", f"User: {source} is not authorized to perform: "
                                                  f"iam:SimulatePrincipalPolicy on resource: {source}")


def test_an_action_moto_does_not_implement_is_a_clean_501_in_the_services_protocol(aws):
    iam = boto3.client("iam", region_name="us-east-1", config=NO_RETRIES)
    with pytest.raises(ClientError) as caught:  # IAM speaks XML: a JSON body would be unreadable, and retried
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/x", ActionNames=["s3:GetObject"])
    assert error(caught)[:2] == (501, "NotImplemented")


def test_the_account_is_a_setting_of_the_local_cloud():
    from mysfits_cli.local import server
    from mysfits_cli.local.settings import CloudSettings, SettingsError

    new = CloudSettings.from_env({"MYSFITS_LOCAL_ACCOUNT": "new"})
    assert new.account == "new" and new.describe().endswith(", a new account")
    assert CloudSettings().account == "established" and "account" not in CloudSettings().describe()
    parser = server.argparse.ArgumentParser()
    server._add_settings_arguments(parser)
    assert server.parse_settings(parser, parser.parse_args(new.server_args())) == new
    with pytest.raises(SettingsError, match="MYSFITS_LOCAL_ACCOUNT must be one of established, new, not 'old'"):
        CloudSettings.from_env({"MYSFITS_LOCAL_ACCOUNT": "old"})
