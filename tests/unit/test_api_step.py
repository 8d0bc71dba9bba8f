"""`up api` against moto in-process: the VPC link, the REST API, re-runs and teardown."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from mysfits_cli.errors import MysfitsError
from mysfits_cli.steps.api import render_document
from tests.support.steps import destroy, up_api


def test_up_api_creates_link_and_api(seeded, ctx):
    url = up_api(ctx, None, None, False)
    apigw = ctx.aws.client("apigateway")
    links = apigw.get_vpc_links()["items"]
    assert [link["name"] for link in links] == ["mysfits-api-vpc-link"]
    assert links[0]["targetArns"] == [seeded["nlb_arn"]]
    apis = apigw.get_rest_apis()["items"]
    assert [api["name"] for api in apis] == ["mysfits-api"]
    api_id = apis[0]["id"]
    assert url == f"https://{api_id}.execute-api.us-east-1.amazonaws.com/prod/mysfits"
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["stageName"] == "prod"
    paths = {r["path"]: set(r.get("resourceMethods", {})) for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert paths["/mysfits"] == {"GET", "OPTIONS"}
    assert paths["/mysfits/{mysfitId}/like"] == {"POST", "OPTIONS"}
    assert paths["/mysfits/{mysfitId}/adopt"] == {"POST", "OPTIONS"}
    integration = apigw.get_integration(restApiId=api_id, resourceId=_resource(apigw, api_id, "/mysfits"), httpMethod="GET")
    assert integration["type"].upper() == "HTTP_PROXY"
    assert integration["uri"].endswith(".amazonaws.com/mysfits")
    assert ctx.state.get("api.vpc-link")["id"] == links[0]["id"]
    assert ctx.state.get("api.rest-api")["id"] == api_id


def _resource(apigw, api_id, path):
    return next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == path)


def test_second_run_makes_no_mutating_call(seeded, ctx, make_ctx, record_calls):
    up_api(ctx, None, None, False)
    again = make_ctx()
    recorder = record_calls(again)
    up_api(again, None, None, False)
    assert recorder.calls, "the re-run should still read the live resources"
    assert recorder.mutating == []


def test_lost_state_adopts_existing_resources(seeded, ctx, make_ctx, tmp_path):
    up_api(ctx, None, None, False)
    fresh = make_ctx(state_file=tmp_path / "other.json")
    up_api(fresh, None, None, False)
    apigw = fresh.aws.client("apigateway")
    assert len(apigw.get_rest_apis()["items"]) == 1
    assert len(apigw.get_vpc_links()["items"]) == 1


def test_rendered_document_is_valid_openapi_with_authorizer(seeded, ctx):
    document = render_document(ctx, "nlb.example.com", "link123", seeded["user_pool_id"])
    validate(document)
    like = document["paths"]["/mysfits/{mysfitId}/like"]["post"]
    assert like["security"] == [{"MysfitUserPoolAuthorizer".replace("Mysfit", "Mysfits"): []}]
    authorizer = document["components"]["securitySchemes"]["MysfitsUserPoolAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{seeded['user_pool_id']}"]
    get = document["paths"]["/mysfits"]["get"]["x-amazon-apigateway-integration"]
    assert get["connectionType"] == "VPC_LINK" and get["connectionId"] == "link123"
    assert get["uri"] == "http://nlb.example.com/mysfits"
    for path in document["paths"].values():
        assert path["options"]["x-amazon-apigateway-integration"]["type"] == "mock"
    assert "REPLACE_ME" not in str(document)


def test_no_auth_renders_without_authorizer(seeded, ctx):
    document = render_document(ctx, "nlb.example.com", "link123", None)
    validate(document)
    assert "security" not in document["paths"]["/mysfits/{mysfitId}/adopt"]["post"]
    assert document["components"]["securitySchemes"] == {}


def test_no_auth_is_kept_by_a_plain_up_api_and_auth_puts_the_authorizer_back(seeded, ctx, make_ctx, record_calls, capsys):
    up_api(ctx, no_auth=True)
    assert ctx.state.outputs["mysfits_api_auth"] == "none"
    again = make_ctx()
    recorder = record_calls(again)
    up_api(again)  # not given: as the API was made, so the document is the same one
    assert recorder.mutating == [] and again.state.outputs["mysfits_api_auth"] == "none"
    assert "as the stack's API was made with --no-auth; --auth puts it back" in capsys.readouterr().err
    up_api(again, no_auth=False)  # --auth: the document with the authorizer, defined and deployed
    assert recorder.mutating == ["PutRestApi", "CreateDeployment"]
    assert "get the Cognito authorizer back (--auth)" in capsys.readouterr().err
    assert again.state.outputs["mysfits_api_auth"] == "cognito"


def test_missing_nlb_is_a_clear_error(aws, ctx):
    with pytest.raises(MysfitsError, match="No network load balancer .* --nlb"):
        up_api(ctx, None, None, False)


def test_unknown_nlb_lists_candidates(seeded, ctx):
    with pytest.raises(MysfitsError, match="mysfits-nlb"):
        up_api(ctx, "nope", None, False)


def test_several_nlbs_are_ambiguous(seeded, ctx):
    elb = ctx.aws.client("elbv2")
    subnets = [s["SubnetId"] for s in ctx.aws.client("ec2").describe_subnets()["Subnets"]][:2]
    elb.create_load_balancer(Name="mysfits-nlb-2", Subnets=subnets, Type="network")
    with pytest.raises(MysfitsError, match="Several network load balancers"):
        up_api(ctx, None, None, False)
    assert up_api(ctx, "mysfits-nlb-2", None, False)


def test_missing_user_pool_names_both_options(seeded, ctx):
    cognito = ctx.aws.client("cognito-idp")
    cognito.delete_user_pool(UserPoolId=seeded["user_pool_id"])
    with pytest.raises(MysfitsError, match="--user-pool-id.*--no-auth"):
        up_api(ctx, None, None, False)
    assert up_api(ctx, None, None, True)


def test_teardown_removes_api_and_link(seeded, ctx):
    up_api(ctx, None, None, False)
    assert destroy(ctx) == []
    apigw = ctx.aws.client("apigateway")
    assert apigw.get_rest_apis()["items"] == []
    assert apigw.get_vpc_links()["items"] == []
    assert ctx.state.resources == {}
    assert destroy(ctx) == []


def test_teardown_finds_leftovers_without_state(seeded, ctx, make_ctx, tmp_path):
    up_api(ctx, None, None, False)
    empty = make_ctx(state_file=tmp_path / "empty.json")
    assert destroy(empty) == []
    assert ctx.aws.client("apigateway").get_rest_apis()["items"] == []


def test_changed_document_is_put_and_redeployed(seeded, ctx, make_ctx, record_calls):
    up_api(ctx, None, None, False)
    again = make_ctx()
    recorder = record_calls(again)
    up_api(again, None, None, True)  # --no-auth changes the document
    assert sorted(set(recorder.mutating)) == ["CreateDeployment", "PutRestApi"]


def test_interrupted_before_deployment_deploys_next_time(seeded, ctx, make_ctx, monkeypatch):
    from mysfits_cli.resources import apigateway

    up_api(ctx, None, None, False)
    real = apigateway.RestApi._deploy

    def die(self, ctx_, record):
        raise MysfitsError("killed between PutRestApi and CreateDeployment")

    monkeypatch.setattr(apigateway.RestApi, "_deploy", die)
    with pytest.raises(MysfitsError, match="killed"):
        up_api(make_ctx(), None, None, True)
    monkeypatch.setattr(apigateway.RestApi, "_deploy", real)
    resumed = make_ctx()
    api_id = resumed.state.get("api.rest-api")["id"]
    before = len(resumed.aws.client("apigateway").get_deployments(restApiId=api_id)["items"])
    up_api(resumed, None, None, True)
    assert len(resumed.aws.client("apigateway").get_deployments(restApiId=api_id)["items"]) == before + 1


def test_a_vpc_link_whose_api_could_not_be_deleted_is_kept_at_once_not_waited_for(seeded, ctx, monkeypatch, record_calls):
    from mysfits_cli.resources import apigateway

    up_api(ctx, None, None, False)

    def refuse(cls, ctx_, record):
        raise MysfitsError("API Gateway is having a bad day")

    monkeypatch.setattr(apigateway.RestApi, "delete", classmethod(refuse))
    recorder = record_calls(ctx)
    failures = dict(destroy(ctx))
    assert failures["rest-api mysfits-api"] == "API Gateway is having a bad day"
    assert failures["vpc-link mysfits-api-vpc-link"].startswith("kept: the Mysfits API could not be deleted")
    assert "DeleteVpcLink" not in recorder.mutating
    assert ctx.state.get("api.rest-api")["delete_error"] == "API Gateway is having a bad day"
