"""The forecast: quotas by name, what runs, the permissions simulated, the cache, and refusals at create time —
the graph read once more, in-process against the local cloud's emulation playing a new account."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from mysfits_cli import forecast as forecasting
from mysfits_cli import permissions, quotas, service_quotas
from mysfits_cli.errors import MysfitsError
from mysfits_cli.graph import Run
from mysfits_cli.local import quotas as local_quotas
from mysfits_cli.options import TrainOptions, UpOptions
from mysfits_cli.stack import GRAPH, forecast_for, up
from mysfits_cli.steps import notebook
from tests.support.calls import BUCKET, create_role, put_object, training_job
from tests.support.emulation import local_cloud

ACCOUNT = "123456789012"
DEFAULTS = UpOptions(train=TrainOptions(rows=200))
WITHIN = UpOptions(notebook_instance_type="ml.t3.medium", train=TrainOptions(rows=200, instance_type="ml.m5.xlarge"),
                   endpoint_instance_type="ml.t2.medium")


# The parts that stand on their own (the others need what the workshop built before: seconds to make here).
SAGEMAKER_PARTS = ["notebook", "train", "endpoint", "recommendations"]


@pytest.fixture
def cloud():
    """A new account's quotas; lenient, so that what `up` makes here is usable at once (the forecast reads, it
    does not rely on SageMaker refusing)."""
    with local_cloud(strict=False, account="new") as opened:
        yield opened


def lines_by_name(found) -> dict[str, quotas.QuotaLine]:
    return {line.name: line for line in found.quotas.lines}


def code(name: str) -> str:
    return local_quotas.quota_code(name)


def test_the_graph_declares_what_each_node_needs():
    for node in GRAPH.order:
        assert node.permissions is not None, node.key
        assert bool(node.bills) == bool(node.starts), node.key


def test_plan_names_each_quota_with_what_runs_what_applies_and_what_to_do(cloud, make_ctx):
    ctx = make_ctx()
    planned, found = forecast_for(ctx, DEFAULTS, only=SAGEMAKER_PARTS)
    lines = lines_by_name(found)
    assert set(lines) == {"ml.t2.medium for notebook instance usage", "ml.m5.2xlarge for training job usage",
                          "ml.m4.xlarge for endpoint usage"}
    notebook_line = lines["ml.t2.medium for notebook instance usage"]
    assert (notebook_line.needed, notebook_line.in_use, notebook_line.quota.limit, notebook_line.short) == (1, 0, 1, False)
    training = lines["ml.m5.2xlarge for training job usage"]
    assert training.short and training.quota.code == code(training.name) and training.instead == "ml.m5.xlarge"
    endpoint = lines["ml.m4.xlarge for endpoint usage"]
    assert endpoint.short and endpoint.instead == "ml.t2.medium" and endpoint.needed_by == ["Endpoint"]
    findings = found.findings(ctx)
    assert len(findings) == 2 and found.blocking
    assert (f"`aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code "
            f"{code(endpoint.name)} --desired-value 1 --region us-east-1`") in findings[1]
    assert "--endpoint-instance-type) with one that has room, such as ml.t2.medium" in findings[1]
    assert found.permissions.principal == f"arn:aws:sts::{ACCOUNT}:user/moto" and not found.permissions.denied
    assert found.as_json(ctx)["quotas"][2]["request"].startswith("aws service-quotas request-service-quota-increase")


def test_up_refuses_before_anything_is_created(cloud, make_ctx, record_calls):
    ctx = make_ctx()
    calls = record_calls(ctx)
    with pytest.raises(MysfitsError, match="AWS would refuse these 2 things .*: nothing was created"):
        up(ctx, DEFAULTS, only=SAGEMAKER_PARTS)
    assert calls.mutating == [] and not ctx.state.items()
    assert "SimulatePrincipalPolicy" in calls.calls and "ListServiceQuotas" in calls.calls


def test_a_default_value_is_said_to_be_one_and_a_missing_quota_is_not_checked(make_ctx):
    with local_cloud():  # an established account: no applied value for a type outside the table's families
        ctx = make_ctx()
        found = quotas.check(ctx, [("hosting", "ml.g5.xlarge", 1, "Endpoint"), ("hosting", "ml.nothing.large", 1, "Endpoint")])
        known, unknown = found.lines
        assert known.quota.default and known.quota.describe() == f"AWS default {local_quotas.DEFAULT_INSTANCES} (none applied)"
        assert unknown.unchecked == "Service Quotas has no quota named 'ml.nothing.large for endpoint usage'"


def test_what_runs_is_counted_and_an_unchanged_endpoint_needs_nothing_more(cloud, make_ctx):
    ctx = make_ctx()
    assert up(ctx, WITHIN, only=["train", "endpoint"]).ok
    assert quotas.in_use(ctx, {"hosting", "training"}) == {("hosting", "ml.t2.medium"): 1}
    _, again = forecast_for(ctx, WITHIN, only=["train", "endpoint"])
    assert again.quotas.lines == [] and not again.blocking  # nothing new starts
    other = make_ctx(stack="other")
    _, second = forecast_for(other, WITHIN, only=["train", "endpoint"])
    endpoint = lines_by_name(second)["ml.t2.medium for endpoint usage"]
    assert (endpoint.in_use, endpoint.short, endpoint.instead) == (1, True, "ml.t3.medium")


def test_the_quota_list_is_cached_beside_the_state_and_a_shortfall_is_read_again(cloud, make_ctx, record_calls, tmp_path):
    ctx = make_ctx()
    found = quotas.check(ctx, [("hosting", "ml.m4.xlarge", 1, "Endpoint")])
    assert found.short and (tmp_path / service_quotas.CACHE_FILE).exists()
    client = cloud.client("service-quotas")
    client.request_service_quota_increase(ServiceCode="sagemaker", QuotaCode=code("ml.m4.xlarge for endpoint usage"),
                                          DesiredValue=1)
    again = make_ctx()
    calls = record_calls(again)
    raised = quotas.check(again, [("hosting", "ml.m4.xlarge", 1, "Endpoint"), ("notebook", "ml.t2.medium", 1, "Notebook")])
    assert not raised.short and "ListServiceQuotas" not in calls.calls  # read from the cache ...
    assert calls.calls.count("GetServiceQuota") == 1  # ... but what it said was short, read again
    later = service_quotas.ServiceQuotas(make_ctx(), now=service_quotas.time.time() + service_quotas.CACHE_SECONDS + 1)
    assert later._cached(service_quotas.APPLIED) is None


def test_no_cache_where_the_state_files_folder_does_not_exist_nor_for_the_local_cloud(cloud, make_ctx, tmp_path):
    ctx = make_ctx(state_file=tmp_path / "not-made" / "state.json")
    assert quotas.check(ctx, [("hosting", "ml.m4.xlarge", 1, "Endpoint")]).short
    assert not (tmp_path / "not-made").exists()
    assert quotas.check(make_ctx(local=True, region="us-east-1"), [("hosting", "ml.m4.xlarge", 1, "Endpoint")]).short
    assert not (tmp_path / service_quotas.CACHE_FILE).exists()


def use_keys(monkeypatch, cloud, name: str, statements: list[dict]) -> str:
    iam = cloud.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    return iam.get_user(UserName=name)["User"]["Arn"]


def test_a_denied_action_is_found_with_the_resource_and_the_node(cloud, make_ctx, monkeypatch):
    user = use_keys(monkeypatch, cloud, "no-endpoints", [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                                         {"Effect": "Deny", "Action": "sagemaker:CreateEndpoint",
                                                          "Resource": "*"}])
    ctx = make_ctx()
    _, found = forecast_for(ctx, WITHIN, only=SAGEMAKER_PARTS)
    assert found.permissions.principal == user
    [denials] = found.denied_actions()  # CreateEndpoint acts on the endpoint and on its config
    assert {d.action for d in denials} == {"sagemaker:CreateEndpoint"} and {d.decision for d in denials} == {"explicitDeny"}
    assert sorted(d.resource.split(":")[-1].rsplit("-", 2)[0] for d in denials) == [
        "endpoint-config/mysfits-knn-config", "endpoint/knn-ml-t2-medium"]
    [line] = found.findings(ctx)
    assert line.startswith("sagemaker:CreateEndpoint on arn:aws:sagemaker:") and "the Endpoint needs it" in line
    with pytest.raises(MysfitsError, match="AWS would refuse this"):
        up(ctx, WITHIN, only=SAGEMAKER_PARTS)
    assert not ctx.state.items()


def test_a_forecast_that_cannot_be_made_blocks_nothing(cloud, make_ctx, monkeypatch):
    use_keys(monkeypatch, cloud, "blind", [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                           {"Effect": "Deny", "Action": ["servicequotas:*", "iam:Simulate*"],
                                            "Resource": "*"}])
    ctx = make_ctx()
    _, found = forecast_for(ctx, DEFAULTS, only=SAGEMAKER_PARTS)
    assert not found.blocking and all(line.quota is None for line in found.quotas.lines)
    unchecked = found.unchecked()
    assert unchecked[0].startswith("could not check the SageMaker quotas: AWS refused ListServiceQuotas: "
                                   "AccessDeniedException")
    assert unchecked[1].startswith("could not check the permissions with IAM's policy simulator: AWS refused "
                                   "SimulatePrincipalPolicy: AccessDenied")


def test_the_caller_of_an_assumed_role_is_simulated_as_the_role(cloud, make_ctx, monkeypatch):
    iam = cloud.client("iam")
    arn = iam.create_role(RoleName="workshop", Path="/teams/", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    credentials = cloud.client("sts").assume_role(RoleArn=arn, RoleSessionName="me")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    assert permissions.policy_source(make_ctx()) == (f"arn:aws:iam::{ACCOUNT}:role/teams/workshop", None)


def test_permissions_follow_the_plan_and_the_roles_come_from_the_functions_that_build_them(cloud, make_ctx):
    ctx = make_ctx()
    planned, _ = forecast_for(ctx, WITHIN, only=["notebook"])
    by_key = {item.node.key: item for item in planned}
    role = notebook.sagemaker_role(Run(ctx, WITHIN, {}, planning=True))
    role_arn = role.arn(ctx)
    assert {p.action for p in by_key["sagemaker.role"].permissions} >= {"iam:CreateRole", "iam:PutRolePolicy"}
    assert permissions.pass_role(role_arn, "sagemaker.amazonaws.com") in by_key["notebook.instance"].permissions
    assert up(ctx, WITHIN, only=["notebook"]).ok
    planned, _ = forecast_for(ctx, WITHIN, only=["notebook"])
    by_key = {item.node.key: item for item in planned}
    assert {p.action for p in by_key["sagemaker.role"].permissions} == {"iam:GetRole", "iam:GetRolePolicy"}
    assert all(p.action != "iam:PassRole" for p in by_key["notebook.instance"].permissions)  # nothing new to pass it to


def refused(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def test_a_refusal_at_create_time_gets_the_same_guidance(cloud, make_ctx):
    ctx = make_ctx()
    limit = refused("CreateEndpoint", "ResourceLimitExceeded", (
        "The account-level service limit 'ml.m4.xlarge for endpoint usage' is 0 Instances, with current utilization "
        "of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an increase for "
        "this quota."))
    line = forecasting.explain(ctx, limit)
    assert line.startswith(f"AWS refused CreateEndpoint: ml.m4.xlarge for endpoint usage ({code('ml.m4.xlarge for endpoint usage')}): "
                           "needs 1, 0 in use, applied 0: run `aws service-quotas request-service-quota-increase")
    assert line.endswith("such as ml.t2.medium")
    denied = refused("CreateEndpoint", "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized to "
                                                                "perform: sagemaker:CreateEndpoint on resource: e")
    assert "is not authorized to perform: sagemaker:CreateEndpoint" in forecasting.explain(ctx, denied)
    assert forecasting.explain(ctx, refused("CreateEndpoint", "ValidationException", "bad")) is None


def test_without_service_quotas_the_refusal_says_how_to_find_the_code(cloud, make_ctx, monkeypatch):
    use_keys(monkeypatch, cloud, "no-quotas", [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                               {"Effect": "Deny", "Action": "servicequotas:*", "Resource": "*"}])
    limit = refused("CreateTrainingJob", "ResourceLimitExceeded", (
        "The account-level service limit 'ml.m5.2xlarge for training job usage' is 0 Instances, with current "
        "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an "
        "increase for this quota."))
    line = forecasting.explain(make_ctx(), limit)
    assert line.startswith("AWS refused CreateTrainingJob: ml.m5.2xlarge for training job usage is 0, 0 in use, and "
                           "this needs 1 more: raise it to 1 in Service Quotas")
    assert "list-service-quotas --service-code sagemaker --region us-east-1" in line


def test_notebooks_not_stopped_are_counted(cloud, make_ctx):
    sagemaker, role = cloud.client("sagemaker"), create_role(cloud.client("iam"), "r")
    for name in ("running", "stopped"):
        sagemaker.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=role)
    sagemaker.stop_notebook_instance(NotebookInstanceName="stopped")
    assert quotas.in_use(make_ctx(), {"notebook"}) == {("notebook", "ml.t3.medium"): 1}


def test_training_jobs_in_progress_are_counted(make_ctx):
    with local_cloud(strict=False, latency="aws") as cloud:  # the clock stands still: the job stays in progress
        s3, sagemaker, role = cloud.client("s3"), cloud.client("sagemaker"), create_role(cloud.client("iam"), "r")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker.create_training_job(**training_job(role, "busy", put_object(s3, "t/d.csv", b"1,2,3,4,5,0\n"),
                                                     "ml.m5.large"))
        assert quotas.in_use(make_ctx(), {"training"}) == {("training", "ml.m5.large"): 1}


def test_a_read_the_plan_was_refused_stops_up_too(cloud, make_ctx):
    from mysfits_cli.engine import Change
    from mysfits_cli.runner import PlannedNode

    denied = refused("DescribeEndpoint", "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized to "
                                                                  "perform: sagemaker:DescribeEndpoint on resource: e")
    failed = PlannedNode(GRAPH["endpoint.endpoint"], Change("fail", note="AWS refused DescribeEndpoint: ..."), error=denied)
    found = forecasting.forecast(make_ctx(), [failed])
    assert found.blocking and found.findings(make_ctx()) == [
        "The endpoint could not be read: AWS refused DescribeEndpoint: ... (allow it in the IAM policy of those credentials)"]
    unchanged = PlannedNode(GRAPH["endpoint.endpoint"], Change("unchanged"),
                            permissions=[permissions.Permission("sagemaker:DescribeEndpoint", "e")])
    assert forecasting.forecast(make_ctx(), [unchanged]).permissions.checked == 0  # the plan has read it already
