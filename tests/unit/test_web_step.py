"""`up web` against moto in-process, on both workshop layouts: where the page goes, what it points
at, and that the site's own page is never lost (kills, lost state files, teardown)."""

from __future__ import annotations

import json

import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.local import seed as local_seed
from mysfits_cli.local import site_emulation
from mysfits_cli.resources.website import BACKUP_SUFFIX, WebPage, page_stack
from mysfits_cli.site import find_site
from mysfits_cli.steps.web import render_page, up_web
from tests.support.steps import destroy, up_api

ORIGINAL = local_seed.WORKSHOP_PAGE


BOTH_LAYOUTS = pytest.mark.parametrize("layout", ["cloudfront", "website"], indirect=True)


@pytest.fixture
def layout(request, monkeypatch):
    """The site's layout: python-cdk's CloudFront unless a test asks for both."""
    chosen = getattr(request, "param", "cloudfront")
    monkeypatch.setenv(local_seed.SITE_LAYOUT_VARIABLE, chosen)
    return chosen


@pytest.fixture
def world(aws, layout, make_ctx):
    """The workshop's earlier modules, and both APIs deployed: the Mysfits API with a Cognito
    authorizer on the seeded pool (as `up api` makes it, which one test runs for real)."""
    site_emulation.install()
    try:
        seeded = local_seed.seed("us-east-1")
        ctx = make_ctx()
        deploy_api(ctx, "mysfits-api", seeded["user_pool_id"])
        deploy_api(ctx, "mysfits-recommendations-api")
        yield ctx, seeded
    finally:
        site_emulation.uninstall()


def deploy_api(ctx, name, user_pool_id=None):
    """A REST API with one method and a prod stage; with a Cognito authorizer on `user_pool_id`."""
    apigw = ctx.aws.client("apigateway")
    api = apigw.create_rest_api(name=name)["id"]
    if user_pool_id:
        apigw.create_authorizer(restApiId=api, name="MysfitsUserPoolAuthorizer", type="COGNITO_USER_POOLS",
                                providerARNs=[f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{user_pool_id}"],
                                identitySource="method.request.header.Authorization")
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    return api


def s3_text(ctx, bucket, key):
    return ctx.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def index_key(layout):
    return "web/index.html" if layout == "cloudfront" else "index.html"


@BOTH_LAYOUTS
def test_page_goes_where_the_site_is_served_and_points_at_both_live_apis(world, layout):
    ctx, seeded = world
    apigw = ctx.aws.client("apigateway")
    apigw.delete_rest_api(restApiId=next(a["id"] for a in apigw.get_rest_apis()["items"] if a["name"] == "mysfits-api"))
    up_api(ctx, None, None, False)  # the real one: its authorizer names the pool the page signs in to
    url = up_web(ctx, None)
    apis = {a["name"]: a["id"] for a in ctx.aws.client("apigateway").get_rest_apis()["items"]}
    if layout == "cloudfront":
        domain = ctx.aws.client("cloudfront").get_distribution(Id=seeded["distribution_id"])["Distribution"]["DomainName"]
        assert url == f"https://{domain}/"
        invalidations = ctx.aws.client("cloudfront").list_invalidations(DistributionId=seeded["distribution_id"])
        assert invalidations["InvalidationList"]["Quantity"] == 1
    else:
        assert url == f"http://{seeded['bucket']}.s3-website-us-east-1.amazonaws.com/"
    page = ctx.aws.client("s3").get_object(Bucket=seeded["bucket"], Key=index_key(layout))
    body = page["Body"].read()
    assert page["ContentType"].startswith("text/html")
    assert page_stack(body) == "mysfits"
    text = body.decode()
    assert json.dumps(f"https://{apis['mysfits-api']}.execute-api.us-east-1.amazonaws.com/prod") in text
    assert json.dumps(f"https://{apis['mysfits-recommendations-api']}.execute-api.us-east-1.amazonaws.com/prod") in text
    assert json.dumps(seeded["user_pool_id"]) in text and json.dumps(seeded["user_pool_client_id"]) in text
    assert json.dumps("https://cognito-idp.us-east-1.amazonaws.com/") in text
    assert s3_text(ctx, seeded["bucket"], index_key(layout) + BACKUP_SUFFIX) == ORIGINAL
    assert ctx.state.outputs["website_url"] == url
    # what the page signs in with is in the outputs too, so another page can be wired from them
    assert ctx.state.outputs["user_pool_id"] == seeded["user_pool_id"]
    assert ctx.state.outputs["user_pool_client_id"] == seeded["user_pool_client_id"]
    assert ctx.state.outputs["cognito_endpoint_url"] == "https://cognito-idp.us-east-1.amazonaws.com/"


def test_a_rerun_changes_nothing(world, make_ctx, record_calls):
    ctx, _ = world
    up_web(ctx, None)
    again = make_ctx()
    recorder = record_calls(again)
    up_web(again, None)
    assert recorder.mutating == []


@BOTH_LAYOUTS
def test_teardown_puts_the_sites_own_page_back(world, layout):
    ctx, seeded = world
    up_web(ctx, None)
    assert destroy(ctx) == []
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == ORIGINAL
    listed = ctx.aws.client("s3").list_objects_v2(Bucket=seeded["bucket"])["Contents"]
    assert [o["Key"] for o in listed] == [index_key(layout)]


@BOTH_LAYOUTS
def test_a_kill_after_the_upload_loses_nothing_and_teardown_needs_no_state(world, layout, make_ctx, tmp_path):
    ctx, seeded = world
    site = find_site(ctx, None)
    page = render_page(ctx, {"mysfits": "a", "recommendations": "b"}, None).encode()
    WebPage("web.page", site, page).create(ctx)  # uploaded; killed before the state was saved
    assert ctx.state.get("web.page") is None

    up_web(ctx, None)  # the re-run adopts our page instead of backing it up
    assert s3_text(ctx, seeded["bucket"], index_key(layout) + BACKUP_SUFFIX) == ORIGINAL

    no_state = make_ctx(state_file=tmp_path / "lost.json")
    assert destroy(no_state) == []
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == ORIGINAL


def test_a_page_replaced_since_is_left_alone(world, layout):
    ctx, seeded = world
    up_web(ctx, None)
    ctx.aws.client("s3").put_object(Bucket=seeded["bucket"], Key=index_key(layout), Body=b"<p>new site</p>")
    assert destroy(ctx) == []
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == b"<p>new site</p>"
    assert s3_text(ctx, seeded["bucket"], index_key(layout) + BACKUP_SUFFIX) == ORIGINAL


def test_the_page_of_the_same_stack_in_another_region_is_neither_replaced_nor_taken_down(world, layout, make_ctx,
                                                                                         tmp_path):
    ctx, seeded = world
    up_web(ctx, None)
    published = s3_text(ctx, seeded["bucket"], index_key(layout))
    israel = make_ctx(region="il-central-1", state_file=tmp_path / "il.json")
    pool = local_seed.seed("il-central-1")["user_pool_id"]  # the same site serves every region
    deploy_api(israel, "mysfits-api", pool)
    deploy_api(israel, "mysfits-recommendations-api")
    with pytest.raises(MysfitsError, match="The site's page s3://.* is published by stack mysfits in us-east-1, "
                                           "and mysfits leaves it as it is: publish this stack's page on another site"):
        up_web(israel, None)
    assert israel.state.get("web.page") is None
    assert destroy(israel) == []  # its sweep does not take the first region's page for its own
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == published
    assert destroy(ctx) == []
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == ORIGINAL


def test_a_page_of_an_older_mysfits_is_this_stacks_only_where_the_state_records_it(world, layout, make_ctx, tmp_path):
    ctx, seeded = world
    up_web(ctx, None)
    key = index_key(layout)
    older = s3_text(ctx, seeded["bucket"], key).replace(b'<meta name="mysfits:region" content="us-east-1">', b"")
    ctx.aws.client("s3").put_object(Bucket=seeded["bucket"], Key=key, Body=older)  # no region said
    with pytest.raises(MysfitsError, match=r"published by stack mysfits \(of an older mysfits\)"):
        up_web(make_ctx(state_file=tmp_path / "another-region-or-a-lost-state.json"), None)
    up_web(ctx, None)  # the state that recorded it: adopted, and replaced by a page that says its region
    assert b'<meta name="mysfits:region" content="us-east-1">' in s3_text(ctx, seeded["bucket"], key)


@pytest.mark.parametrize("gone, command", [("mysfits-api", "up api"),
                                           ("mysfits-recommendations-api", "up recommendations")])
def test_refuses_when_an_api_is_gone_though_recorded(world, gone, command):
    ctx, _ = world
    apigw = ctx.aws.client("apigateway")
    apigw.delete_rest_api(restApiId=next(a["id"] for a in apigw.get_rest_apis()["items"] if a["name"] == gone))
    with pytest.raises(MysfitsError, match=f"run `mysfits {command}` first"):
        up_web(ctx, None)


def test_an_api_without_a_deployed_stage_is_missing(aws, make_ctx):
    ctx = make_ctx()
    ctx.aws.client("apigateway").create_rest_api(name="mysfits-api")
    with pytest.raises(MysfitsError, match="`mysfits up api` and `mysfits up recommendations`"):
        up_web(ctx, None)


def test_app_client_by_name_then_the_only_one_then_the_option(world):
    ctx, seeded = world
    cognito = ctx.aws.client("cognito-idp")
    pool = seeded["user_pool_id"]
    other = cognito.create_user_pool_client(UserPoolId=pool, ClientName="SomethingElse")["UserPoolClient"]["ClientId"]
    up_web(ctx, None)
    assert json.dumps(seeded["user_pool_client_id"]) in page_text(ctx)

    up_web(ctx, None, other)
    assert json.dumps(other) in page_text(ctx)

    cognito.delete_user_pool_client(UserPoolId=pool, ClientId=seeded["user_pool_client_id"])
    up_web(ctx, None)  # the pool's only client
    assert json.dumps(other) in page_text(ctx)

    cognito.create_user_pool_client(UserPoolId=pool, ClientName="Another")
    with pytest.raises(MysfitsError, match="2 app clients and none named MysfitsUserPoolClient"):
        up_web(ctx, None)
    with pytest.raises(MysfitsError, match="not found in user pool"):
        up_web(ctx, None, "nosuchclient")


@pytest.mark.parametrize("settings, message", [
    ({"GenerateSecret": True}, "client secret"),
    ({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}, "ALLOW_USER_SRP_AUTH"),
])
def test_an_app_client_a_browser_cannot_use_is_refused(world, settings, message):
    ctx, seeded = world
    client = ctx.aws.client("cognito-idp").create_user_pool_client(
        UserPoolId=seeded["user_pool_id"], ClientName="server", **settings)["UserPoolClient"]["ClientId"]
    with pytest.raises(MysfitsError, match=message):
        up_web(ctx, None, client)


def test_an_api_without_authorizer_gets_a_page_without_sign_in_and_says_so(world, capsys):
    ctx, _ = world
    apigw = ctx.aws.client("apigateway")
    for api in apigw.get_rest_apis()["items"]:
        for authorizer in apigw.get_authorizers(restApiId=api["id"])["items"]:
            apigw.delete_authorizer(restApiId=api["id"], authorizerId=authorizer["id"])
    up_web(ctx, None)
    assert '"userPoolId": ""' in page_text(ctx)
    assert "The page has no sign-in: the Mysfits API has no Cognito authorizer (made with --no-auth)" \
           in capsys.readouterr().err
    with pytest.raises(MysfitsError, match="--no-auth"):
        up_web(ctx, None, "someclient")


def page_text(ctx):
    record = ctx.state.get("web.page")
    return s3_text(ctx, record["bucket"], record["key"]).decode()


def test_a_bucket_that_is_not_a_site_is_refused(world):
    ctx, _ = world
    ctx.aws.client("s3").create_bucket(Bucket="plain-bucket")
    with pytest.raises(MysfitsError, match="served neither by CloudFront nor as an S3 static website"):
        up_web(ctx, "plain-bucket")
    with pytest.raises(MysfitsError, match="Bucket no-such-bucket not found"):
        up_web(ctx, "no-such-bucket")


@pytest.mark.parametrize("layout", ["website"], indirect=True)
def test_a_website_bucket_answers_with_its_own_regions_url(world, layout):
    ctx, _ = world
    s3 = ctx.aws.client("s3")
    s3.create_bucket(Bucket="eu-site", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_website(Bucket="eu-site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    assert up_web(ctx, "eu-site") == "http://eu-site.s3-website.eu-central-1.amazonaws.com/"


def test_moving_to_another_bucket_puts_the_first_page_back(world, layout):
    ctx, seeded = world
    up_web(ctx, None)
    s3 = ctx.aws.client("s3")
    s3.create_bucket(Bucket="second-site")
    s3.put_bucket_website(Bucket="second-site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    up_web(ctx, "second-site")
    assert s3_text(ctx, seeded["bucket"], index_key(layout)) == ORIGINAL
    assert page_stack(s3_text(ctx, "second-site", "index.html")) == "mysfits"
