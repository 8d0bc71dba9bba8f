"""`up recommendations` against moto in-process."""

from __future__ import annotations

import json

import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.lambda_package import build_package, package_sha256
from tests.support.steps import destroy, up_recommendations

ENDPOINT = "knn-ml-m4-xlarge-20261125-120000"


def serve(ctx, name):
    """Record an endpoint as `deploy-endpoint` would (the recommendations service only needs its name)."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
    ctx.state.put("endpoint.endpoint", {"kind": "endpoint", "id": name, "name": name, "arn": arn, "config": "c"})


@pytest.fixture
def deployed(ctx):
    serve(ctx, ENDPOINT)
    return ctx


def test_needs_a_deployed_endpoint(aws, ctx):
    with pytest.raises(MysfitsError, match="mysfits deploy-endpoint"):
        up_recommendations(ctx)


def test_creates_role_function_api_and_permission(deployed):
    ctx = deployed
    url = up_recommendations(ctx)
    fn = ctx.aws.client("lambda").get_function(FunctionName="mysfits-recommendations")["Configuration"]
    assert fn["Runtime"].startswith("python3.1") and fn["MemorySize"] == 128 and fn["Timeout"] == 30
    assert fn["Environment"]["Variables"] == {"ENDPOINT_NAME": ENDPOINT}
    assert fn["CodeSha256"] == package_sha256(build_package())
    iam = ctx.aws.client("iam")
    policy = iam.get_role_policy(RoleName="mysfits-us-east-1-recommendations-role", PolicyName="mysfits-us-east-1-recommendations-role-policy")
    statements = policy["PolicyDocument"]["Statement"]
    invoke = next(s for s in statements if s["Action"] == "sagemaker:InvokeEndpoint")
    assert invoke["Resource"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
    assert all(s["Resource"] != "*" for s in statements)
    logs = next(s for s in statements if s is not invoke)
    assert logs["Resource"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/mysfits-recommendations:*"
    api = next(a for a in ctx.aws.client("apigateway").get_rest_apis()["items"] if a["name"] == "mysfits-recommendations-api")
    assert url == f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/prod/recommendations"
    resources = ctx.aws.client("apigateway").get_resources(restApiId=api["id"])["items"]
    route = next(r for r in resources if r["path"] == "/recommendations")
    assert set(route["resourceMethods"]) == {"POST", "OPTIONS"}
    lambda_policy = json.loads(ctx.aws.client("lambda").get_policy(FunctionName="mysfits-recommendations")["Policy"])
    [grant] = lambda_policy["Statement"]
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}/*/POST/recommendations"
    )
    groups = ctx.aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/mysfits-recommendations")
    assert groups["logGroups"][0]["retentionInDays"] == 14


def test_rerun_changes_nothing(deployed, make_ctx, record_calls):
    up_recommendations(deployed)
    again = make_ctx()
    recorder = record_calls(again)
    up_recommendations(again)
    assert recorder.mutating == []


def test_new_endpoint_updates_environment_and_policy_only(deployed, make_ctx, record_calls):
    up_recommendations(deployed)
    serve(deployed, "knn-ml-m4-xlarge-20261126-080000")
    again = make_ctx()
    recorder = record_calls(again)
    up_recommendations(again)
    assert sorted(set(recorder.mutating)) == ["PutRolePolicy", "UpdateFunctionConfiguration"]
    fn = again.aws.client("lambda").get_function(FunctionName="mysfits-recommendations")["Configuration"]
    assert fn["Environment"]["Variables"]["ENDPOINT_NAME"] == "knn-ml-m4-xlarge-20261126-080000"


def test_teardown_removes_everything(deployed):
    up_recommendations(deployed)
    assert destroy(deployed) == []
    assert deployed.aws.client("lambda").list_functions()["Functions"] == []
    assert deployed.aws.client("apigateway").get_rest_apis()["items"] == []
    assert [r["RoleName"] for r in deployed.aws.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("mysfits-")] == []
    assert deployed.aws.client("logs").describe_log_groups()["logGroups"] == []
