"""The local cloud's Cognito (sign-up codes, SRP, auth flows), the Mysfits API's Cognito authorizer in
the data plane, and the site served as S3 website endpoints and CloudFront serve it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from moto.cognitoidp.models import cognitoidp_backends
from werkzeug.test import Client
from werkzeug.wrappers import Response

from mysfits_cli.local import seed as local_seed
from mysfits_cli.local import site_emulation
from mysfits_cli.local.dataplane import DataPlane
from mysfits_cli.local.webhost import site_path
from tests.support.steps import up_api
from tests.support.srp import confirmation_code, sign_in

EMAIL = "alice@example.com"
PASSWORD = "Corr3ct-Horse"


@pytest.fixture
def local(aws, make_ctx, monkeypatch, request):
    monkeypatch.setenv(local_seed.SITE_LAYOUT_VARIABLE, getattr(request, "param", "cloudfront"))
    site_emulation.install()
    try:
        ids = local_seed.seed("us-east-1")
        ctx = make_ctx()
        yield ctx, ids, ctx.aws.client("cognito-idp")
    finally:
        site_emulation.uninstall()


def register(cognito, ids, capsys, email=EMAIL, password=PASSWORD):
    cognito.sign_up(ClientId=ids["user_pool_client_id"], Username=email, Password=password,
                    UserAttributes=[{"Name": "email", "Value": email}])
    return confirmation_code(capsys.readouterr().out, email)


def signed_up(cognito, ids, capsys):
    code = register(cognito, ids, capsys)
    cognito.confirm_sign_up(ClientId=ids["user_pool_client_id"], Username=EMAIL, ConfirmationCode=code)
    return sign_in(cognito, ids["user_pool_id"], ids["user_pool_client_id"], EMAIL, PASSWORD)


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


# --- Cognito ---------------------------------------------------------------------------------------

def test_the_workshops_app_client_is_seeded_beside_the_pool(local):
    _, ids, cognito = local
    client = cognito.describe_user_pool_client(UserPoolId=ids["user_pool_id"],
                                               ClientId=ids["user_pool_client_id"])["UserPoolClient"]
    assert client["ClientName"] == "MysfitsUserPoolClient"
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def test_sign_up_prints_a_code_that_alone_confirms(local, capsys):
    _, ids, cognito = local
    code = register(cognito, ids, capsys)
    assert len(code) == 6 and code.isdigit()
    client = ids["user_pool_client_id"]
    wrong = "000000" if code != "000000" else "111111"
    assert error_code(cognito.confirm_sign_up, ClientId=client, Username=EMAIL, ConfirmationCode=wrong)[0] \
        == "CodeMismatchException"
    assert error_code(sign_in, cognito=cognito, pool_id=ids["user_pool_id"], client_id=client, username=EMAIL,
                      password=PASSWORD)[0] == "UserNotConfirmedException"
    cognito.confirm_sign_up(ClientId=client, Username=EMAIL, ConfirmationCode=code)
    assert error_code(cognito.confirm_sign_up, ClientId=client, Username=EMAIL, ConfirmationCode=code)[0] \
        == "NotAuthorizedException"


def test_srp_signs_in_with_the_right_password_only(local, capsys):
    _, ids, cognito = local
    tokens = signed_up(cognito, ids, capsys)
    assert {"IdToken", "AccessToken", "RefreshToken"} <= set(tokens)
    code, message = error_code(sign_in, cognito=cognito, pool_id=ids["user_pool_id"],
                               client_id=ids["user_pool_client_id"], username=EMAIL, password="Wr0ng-Horse")
    assert (code, message) == ("NotAuthorizedException", "Incorrect username or password.")


def test_a_secret_block_answers_one_challenge_only(local, capsys):
    _, ids, cognito = local
    signed_up(cognito, ids, capsys)
    start = cognito.initiate_auth(ClientId=ids["user_pool_client_id"], AuthFlow="USER_SRP_AUTH",
                                  AuthParameters={"USERNAME": EMAIL, "SRP_A": "abc123"})
    block = start["ChallengeParameters"]["SECRET_BLOCK"]
    answer = {"USERNAME": EMAIL, "PASSWORD_CLAIM_SECRET_BLOCK": block, "TIMESTAMP": "now",
              "PASSWORD_CLAIM_SIGNATURE": "bm9wZQ=="}
    for _ in range(2):
        assert error_code(cognito.respond_to_auth_challenge, ClientId=ids["user_pool_client_id"],
                          ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer)[0] == "NotAuthorizedException"


def test_auth_flows_follow_the_app_client(local, capsys):
    _, ids, cognito = local
    signed_up(cognito, ids, capsys)
    password_flow = {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": EMAIL, "PASSWORD": PASSWORD}}
    code, message = error_code(cognito.initiate_auth, ClientId=ids["user_pool_client_id"], **password_flow)
    assert (code, message) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
    scripts = cognito.create_user_pool_client(UserPoolId=ids["user_pool_id"], ClientName="scripts",
                                              ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]
    assert "IdToken" in cognito.initiate_auth(ClientId=scripts["ClientId"], **password_flow)["AuthenticationResult"]
    assert error_code(sign_in, cognito=cognito, pool_id=ids["user_pool_id"], client_id=scripts["ClientId"],
                      username=EMAIL, password=PASSWORD)[0] == "InvalidParameterException"


# --- the Cognito authorizer -------------------------------------------------------------------------

def _passthrough(environ, start_response):
    return Response("moto", status=299)(environ, start_response)


@pytest.fixture
def mysfits_api(local, tmp_path):
    ctx, ids, cognito = local
    base = up_api(ctx, None, None, False).removesuffix("/mysfits")
    api_id = base.split("//", 1)[1].split(".", 1)[0]
    client = Client(DataPlane(_passthrough, endpoint_url="http://127.0.0.1:1", cache_dir=tmp_path))
    return client, f"/restapis/{api_id}/prod/_user_request_", api_id


def test_import_keeps_the_cognito_authorizer_on_like_and_adopt(local, mysfits_api):
    ctx, ids, _ = local
    _, _, api_id = mysfits_api
    apigw = ctx.aws.client("apigateway")
    [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{ids['user_pool_id']}"]
    methods = {(r["path"], verb): apigw.get_method(restApiId=api_id, resourceId=r["id"], httpMethod=verb)
               for r in apigw.get_resources(restApiId=api_id)["items"] for verb in r.get("resourceMethods", {})}
    for path in ("/mysfits/{mysfitId}/like", "/mysfits/{mysfitId}/adopt"):
        assert methods[(path, "POST")]["authorizationType"] == "COGNITO_USER_POOLS"
        assert methods[(path, "POST")]["authorizerId"] == authorizer["id"]
    assert methods[("/mysfits", "GET")].get("authorizationType") != "COGNITO_USER_POOLS"


def forged(ids, **claims):
    pool = cognitoidp_backends["123456789012"]["us-east-1"].user_pools[ids["user_pool_id"]]
    token, _ = pool.create_jwt(ids["user_pool_client_id"], EMAIL, claims.pop("token_use", "id"),
                               expires_in=claims.pop("expires_in", 3600), extra_data=claims)
    return token


def test_like_and_adopt_need_the_pools_id_token(local, mysfits_api, capsys):
    _, ids, cognito = local
    client, api, _ = mysfits_api
    mysfit = json.loads(client.get(f"{api}/mysfits").get_data())["mysfits"][0]["mysfitId"]
    tokens = signed_up(cognito, ids, capsys)
    refused = {
        "no token": {},
        "bearer prefix": {"Authorization": f"Bearer {tokens['IdToken']}"},
        "access token": {"Authorization": tokens["AccessToken"]},
        "expired": {"Authorization": forged(ids, expires_in=-60)},
        "another issuer": {"Authorization": forged(ids, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")},
        "another audience": {"Authorization": forged(ids, aud="someoneelse")},
        "tampered": {"Authorization": tokens["IdToken"][:-4] + ("AAAA" if not tokens["IdToken"].endswith("AAAA") else "BBBB")},
        "garbage": {"Authorization": "not-a-token"},
    }
    for action in ("like", "adopt"):
        for why, headers in refused.items():
            response = client.post(f"{api}/mysfits/{mysfit}/{action}", headers=headers)
            assert (response.status_code, json.loads(response.get_data())) == (401, {"message": "Unauthorized"}), why
        response = client.post(f"{api}/mysfits/{mysfit}/{action}", headers={"Authorization": tokens["IdToken"]})
        assert (response.status_code, json.loads(response.get_data())) == (200, {"Update": "Success"})
    profile = json.loads(client.get(f"{api}/mysfits/{mysfit}").get_data())
    assert (profile["likes"], profile["adopted"]) == (1, True)


def test_api_gateways_own_refusals_carry_the_documents_cors_headers_and_get_slash_answers(local, mysfits_api):
    ctx, _, _ = local
    client, api, api_id = mysfits_api
    types = {r["responseType"] for r in ctx.aws.client("apigateway").get_gateway_responses(restApiId=api_id)["items"]}
    assert types == {"DEFAULT_4XX", "DEFAULT_5XX"}  # kept on import, as API Gateway keeps them
    mysfit = json.loads(client.get(f"{api}/mysfits").get_data())["mysfits"][0]["mysfitId"]
    refusals = [client.post(f"{api}/mysfits/{mysfit}/like", headers={"Authorization": "expired-or-forged"}),
                client.get(f"{api}/no/such/route")]
    assert [(r.status_code, json.loads(r.get_data())) for r in refusals] == [
        (401, {"message": "Unauthorized"}), (403, {"message": "Missing Authentication Token"})]
    for refused in refusals:
        assert refused.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in refused.headers["Access-Control-Allow-Headers"]
    assert refusals[0].headers["x-amzn-ErrorType"] == "UnauthorizedException"
    root = client.get(f"{api}/")  # as the API's document says: the backend's health check
    assert (root.status_code, json.loads(root.get_data())) == (
        200, {"message": "Nothing here, used for health check. Try /mysfits instead."})


def test_without_an_authorizer_like_is_open(local, tmp_path):
    ctx, _, _ = local
    base = up_api(ctx, None, None, True).removesuffix("/mysfits")
    api_id = base.split("//", 1)[1].split(".", 1)[0]
    client = Client(DataPlane(_passthrough, endpoint_url="http://127.0.0.1:1", cache_dir=tmp_path))
    api = f"/restapis/{api_id}/prod/_user_request_"
    mysfit = json.loads(client.get(f"{api}/mysfits").get_data())["mysfits"][0]["mysfitId"]
    assert client.post(f"{api}/mysfits/{mysfit}/like").status_code == 200


# --- the site, as visitors reach it -----------------------------------------------------------------

def site_client(tmp_path):
    return Client(DataPlane(_passthrough, endpoint_url="http://127.0.0.1:1", cache_dir=tmp_path))


def test_cloudfront_serves_its_origin_path(local, tmp_path):
    ctx, ids, _ = local
    client = site_client(tmp_path)
    base = site_path(ids["bucket"], ids["distribution_id"])
    s3 = ctx.aws.client("s3")
    s3.put_object(Bucket=ids["bucket"], Key="web/js/app.js", Body=b"1;", ContentType="text/javascript")
    s3.put_object(Bucket=ids["bucket"], Key="index.html", Body=b"outside the origin path")
    page = client.get(base)
    assert page.status_code == 200 and page.get_data() == local_seed.WORKSHOP_PAGE
    assert page.headers["Content-Type"] == "text/html"
    head = client.head(base)
    assert head.status_code == 200 and head.get_data() == b""
    assert {k: head.headers[k] for k in ("Content-Type", "Content-Length", "ETag")} == \
        {k: page.headers[k] for k in ("Content-Type", "Content-Length", "ETag")}
    assert client.get(base + "index.html").get_data() == local_seed.WORKSHOP_PAGE
    assert client.get(base + "js/app.js").headers["Content-Type"] == "text/javascript"
    assert client.get(base + "nothing.html").status_code == 403
    assert client.post(base).status_code == 405
    assert client.get(site_path("", "NOSUCHDIST")).status_code == 404


@pytest.mark.parametrize("local", ["website"], indirect=True)
def test_a_website_bucket_answers_folders_with_their_index(local, tmp_path):
    ctx, ids, _ = local
    client = site_client(tmp_path)
    base = site_path(ids["bucket"], None)
    s3 = ctx.aws.client("s3")
    s3.put_object(Bucket=ids["bucket"], Key="about/index.html", Body=b"<p>about</p>", ContentType="text/html")
    assert client.get(base).get_data() == local_seed.WORKSHOP_PAGE
    assert client.get(base.rstrip("/")).get_data() == local_seed.WORKSHOP_PAGE
    assert client.get(base + "about/").get_data() == b"<p>about</p>"
    moved = client.get(base + "about")
    assert (moved.status_code, moved.headers["Location"]) == (302, "about/")
    head = client.head(base + "about/")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(b"<p>about</p>"))
    assert head.headers["Content-Type"] == "text/html" and head.get_data() == b""
    assert client.get(base + "missing.html").status_code == 404
    assert client.get(site_path("no-such-bucket", None)).status_code == 404
