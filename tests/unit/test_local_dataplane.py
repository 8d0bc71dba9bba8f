"""The execute-api data plane, driven through werkzeug's test client over moto in-process."""

from __future__ import annotations

import io
import json
import re
import zipfile

import boto3
import pytest
from moto import mock_aws
from werkzeug.test import Client
from werkzeug.wrappers import Response

from mysfits_cli import reference
from mysfits_cli.local import patches, seed
from mysfits_cli.local.dataplane import DataPlane

REGION = "us-east-1"
ACCOUNT = "123456789012"

HANDLER = '''
import json, os, sys, time

def handler(event, context):
    try:
        body = json.loads(event["body"]) if event["body"] else None
    except ValueError:
        body = event["body"]
    print("handling", event["httpMethod"], event["path"])
    return {
        "statusCode": 201,
        "headers": {"Access-Control-Allow-Origin": "*", "X-Echo": "yes"},
        "body": json.dumps({
            "body": body,
            "resource": event["resource"],
            "path": event["path"],
            "pathParameters": event["pathParameters"],
            "query": event["queryStringParameters"],
            "stage": event["requestContext"]["stage"],
            "apiId": event["requestContext"]["apiId"],
            "greeting": os.environ.get("GREETING"),
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "region": os.environ.get("AWS_REGION"),
            "remaining": context.get_remaining_time_in_millis(),
        }),
    }

def slow(event, context):
    time.sleep(30)

def crash(event, context):
    raise RuntimeError("boom")

def bad(event, context):
    return "not a proxy response"

def binary(event, context):
    import base64
    return {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\\x00\\x01").decode()}
'''

# An OpenAPI 3 document as the CLI writes them: MOCK CORS, HTTP_PROXY to the NLB, Lambda proxy.
def _document(nlb_dns: str, functions: dict[str, str]) -> dict:
    def lambda_proxy(name: str) -> dict:
        return {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{functions[name]}/invocations",
            },
        }

    def nlb(method: str, path: str, params: dict | None = None) -> dict:
        integration = {
            "type": "http_proxy",
            "httpMethod": method,
            "uri": f"http://{nlb_dns}{path}",
            "connectionType": "VPC_LINK",
            "connectionId": "vpclink-id",
        }
        if params:
            integration["requestParameters"] = params
        return {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": integration}

    cors = {
        "responses": {"200": {"description": "CORS"}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {
                        "method.response.header.Access-Control-Allow-Origin": "'*'",
                        "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
                    },
                }
            },
        },
    }
    by_id = {"integration.request.path.mysfitId": "method.request.path.mysfitId"}
    paths = {
        "/recommendations": {"post": lambda_proxy("echo"), "options": cors},
        "/items/{itemId}": {"put": lambda_proxy("echo")},
        "/items/special": {"put": lambda_proxy("echo")},
        "/slow": {"post": lambda_proxy("slow")},
        "/crash": {"post": lambda_proxy("crash")},
        "/bad": {"post": lambda_proxy("bad")},
        "/binary": {"get": lambda_proxy("binary")},
        "/missing-function": {"post": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST",
                "uri": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                       f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope/invocations",
            },
        }},
        "/elsewhere": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/mysfits",
            },
        }},
        "/mysfits": {"get": nlb("GET", "/mysfits"), "options": cors},
        "/mysfits/{mysfitId}": {"get": nlb("GET", "/mysfits/{mysfitId}", by_id)},
        "/mysfits/{mysfitId}/like": {"post": nlb("POST", "/mysfits/{mysfitId}/like", by_id)},
        "/mysfits/{mysfitId}/adopt": {"post": nlb("POST", "/mysfits/{mysfitId}/adopt", by_id)},
    }
    for path, operations in paths.items():
        names = re.findall(r"\{(\w+)\}", path)
        for operation in operations.values():
            operation["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
            ]
    return {
        "openapi": "3.0.1",
        "info": {"title": "dataplane", "description": "test API", "version": "1"},
        "paths": paths,
    }


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _passthrough(environ, start_response):
    return Response("moto", status=299)(environ, start_response)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with mock_aws():
        patches.apply()
        seed.seed(REGION)
        session = boto3.session.Session(region_name=REGION)
        role = session.client("iam").create_role(
            RoleName="fn-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        lam = session.client("lambda")
        code = _zip(HANDLER)
        functions = {}
        for name, handler, timeout in [("echo", "handler", 5), ("slow", "slow", 1), ("crash", "crash", 3),
                                       ("bad", "bad", 3), ("binary", "binary", 3)]:
            functions[name] = lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=f"app.{handler}",
                Code={"ZipFile": code}, Timeout=timeout, Environment={"Variables": {"GREETING": "hi"}},
            )["FunctionArn"]
        nlb_dns = session.client("elbv2").describe_load_balancers(Names=[seed.NLB_NAME])["LoadBalancers"][0]["DNSName"]
        gateway = session.client("apigateway")
        api_id = gateway.import_rest_api(body=json.dumps(_document(nlb_dns, functions)), failOnWarnings=True)["id"]
        gateway.create_deployment(restApiId=api_id, stageName="prod")
        app = DataPlane(_passthrough, endpoint_url="http://127.0.0.1:1", cache_dir=tmp_path_factory.mktemp("cache"))
        yield Client(app), api_id, session


@pytest.fixture
def client(cloud):
    return cloud[0]


@pytest.fixture
def api(cloud):
    return f"/restapis/{cloud[1]}/prod/_user_request_"


def _json(response):
    return json.loads(response.get_data(as_text=True))


def test_lambda_proxy_runs_the_function_with_a_rest_proxy_event(client, api, cloud):
    response = client.post(f"{api}/recommendations?x=1", json={"entry": [1, 2, 3, 4, 5]})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Echo"] == "yes"
    echoed = _json(response)
    assert echoed["body"] == {"entry": [1, 2, 3, 4, 5]}
    assert echoed["resource"] == echoed["path"] == "/recommendations"
    assert echoed["query"] == {"x": "1"}
    assert (echoed["stage"], echoed["apiId"]) == ("prod", cloud[1])
    assert echoed["greeting"] == "hi"
    assert echoed["endpoint"] == "http://127.0.0.1:1"
    assert echoed["region"] == REGION
    assert 0 < echoed["remaining"] <= 5000


def test_function_output_lands_in_its_log_group(client, api, cloud):
    client.post(f"{api}/recommendations", json={})
    logs = cloud[2].client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/echo")["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("handling POST /recommendations") for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_short_url_form_and_path_parameters(client, cloud):
    response = client.put(f"/execute-api/{cloud[1]}/prod/items/42", data="plain text")
    echoed = _json(response)
    assert echoed["resource"] == "/items/{itemId}"
    assert echoed["pathParameters"] == {"itemId": "42"}
    assert echoed["body"] == "plain text"
    literal = _json(client.put(f"/execute-api/{cloud[1]}/prod/items/special"))
    assert literal["resource"] == "/items/special"
    assert literal["pathParameters"] is None


def test_host_form(client, cloud):
    response = client.post("/prod/recommendations", json={}, headers={"Host": f"{cloud[1]}.execute-api.localhost"})
    assert response.status_code == 201


def test_function_timeout_is_504(client, api):
    response = client.post(f"{api}/slow", json={})
    assert response.status_code == 504
    assert _json(response) == {"message": "Endpoint request timed out"}


@pytest.mark.parametrize("path", ["/crash", "/bad", "/missing-function"])
def test_failing_or_missing_function_is_a_json_error(client, api, path):
    response = client.post(f"{api}{path}", json={})
    assert response.status_code in (500, 502)
    assert _json(response) == {"message": "Internal server error"}


def test_base64_body_is_decoded(client, api):
    assert client.get(f"{api}/binary").get_data() == b"\x00\x01"


def test_mock_answers_with_the_integration_response_headers(client, api):
    response = client.options(f"{api}/recommendations")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"


@pytest.mark.parametrize("method, path", [("GET", "/nowhere"), ("DELETE", "/recommendations"), ("GET", "/items")])
def test_missing_route_or_method(client, api, method, path):
    response = client.open(f"{api}{path}", method=method)
    assert response.status_code == 403
    assert _json(response) == {"message": "Missing Authentication Token"}


def test_unknown_stage_and_api(client, cloud):
    assert client.get(f"/restapis/{cloud[1]}/dev/_user_request_/mysfits").status_code == 403
    assert client.get("/restapis/nosuchapi/prod/_user_request_/mysfits").status_code == 404


def test_other_requests_go_to_moto(client):
    assert client.get("/restapis").status_code == 299
    signed_s3 = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, Signature=x"}
    assert client.get("/execute-api/bucket-key", headers=signed_s3).status_code == 299


def test_http_proxy_to_an_unknown_host_is_502(client, api):
    response = client.get(f"{api}/elsewhere")
    assert response.status_code == 502
    assert "message" in _json(response)


def test_backend_lists_and_filters_mysfits(client, api):
    listed = _json(client.get(f"{api}/mysfits"))["mysfits"]
    assert len(listed) == 12
    assert set(listed[0]) == {"mysfitId", "name", "species", "description", "age", "goodevil", "lawchaos",
                              "thumbImageUri", "profileImageUri", "likes", "adopted"}
    evil = _json(client.get(f"{api}/mysfits?filter=GoodEvil&value=Evil"))["mysfits"]
    assert evil and all(m["goodevil"] == "Evil" for m in evil)
    assert client.get(f"{api}/mysfits?filter=Name&value=x").status_code == 400


def test_backend_get_like_and_adopt(client, api):
    mysfit_id = reference.mysfits()[3]["mysfitId"]
    before = _json(client.get(f"{api}/mysfits/{mysfit_id}"))
    assert before["mysfitId"] == mysfit_id
    assert _json(client.post(f"{api}/mysfits/{mysfit_id}/like")) == {"Update": "Success"}
    assert _json(client.post(f"{api}/mysfits/{mysfit_id}/adopt")) == {"Update": "Success"}
    after = _json(client.get(f"{api}/mysfits/{mysfit_id}"))
    assert after["likes"] == before["likes"] + 1
    assert after["adopted"] is True
    assert client.get(f"{api}/mysfits/not-a-mysfit").status_code == 404


@pytest.mark.parametrize("request_args", [
    {"method": "POST", "path": "/recommendations", "data": b"\xff\xfe\x00 not utf-8"},
    {"method": "POST", "path": "/recommendations", "data": b"{", "headers": {"Content-Type": "application/json"}},
    {"method": "GET", "path": "/mysfits/%ff%fe"},
    {"method": "GET", "path": "/mysfits?filter=GoodEvil&value=%ff"},
    {"method": "POST", "path": "/mysfits/x/like", "headers": {"Content-Length": "nope"}},
])
def test_odd_requests_get_json_answers(client, api, request_args):
    response = client.open(f"{api}{request_args.pop('path')}", **request_args)
    assert 200 <= response.status_code < 600
    assert isinstance(_json(response), dict)


def test_payload_over_the_api_gateway_limit_is_413(client, api):
    response = client.post(f"{api}/recommendations", data=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert _json(response) == {"message": "Request Too Long"}
