"""Train and serve on a local-cloud server, then the recommendations service over real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from mysfits_cli import reference


def post(url: str, body: bytes, method: str = "POST"):
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def served(server, tmp_path_factory):
    from tests.e2e.conftest import Cli

    cli = Cli(server, tmp_path_factory.mktemp("reco") / "state.json")
    cli.run("train", "--rows", "20000", "--sample-size", "5000", "--no-logs")
    cli.run("deploy-endpoint", "--no-evaluate")
    created = cli.run("up", "recommendations")
    url = created.stdout.strip().splitlines()[-1]
    yield cli, url
    cli.run("teardown", "--yes", "--purge-data")


def test_recommendation_over_http_matches_the_model(served):
    cli, url = served
    assert url.endswith("/prod/_user_request_/recommendations") and url.startswith("http://127.0.0.1:")
    ids = {m["mysfitId"] for m in reference.mysfits()}
    for answers in ([1, 2, 3, 4, 5], [8, 8, 8, 8, 8], [3, 1, 4, 1, 5]):
        status, headers, body = post(url, json.dumps({"entry": answers}).encode())
        assert status == 200, body
        assert headers.get("Access-Control-Allow-Origin") == "*"
        mysfit_id = json.loads(body)["recommendedMysfit"]
        assert mysfit_id in ids
        direct = cli.run("recommend", "--direct", *map(str, answers)).stdout
        via_cli = cli.run("recommend", *map(str, answers)).stdout
        assert mysfit_id in direct and mysfit_id in via_cli


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"entry": [1,2,3]}', b'{"entry": [1,2,3,4,9]}',
                                  b'{"entry": ["1",2,3,4,5]}', b"", b'{"entry": [1,2,3,4,5.5]}'])
def test_malformed_bodies_get_400(served, body):
    _, url = served
    status, headers, answer = post(url, body)
    assert status == 400, answer
    assert "message" in json.loads(answer)
    assert headers.get("Access-Control-Allow-Origin") == "*"


def test_cors_preflight(served):
    _, url = served
    status, headers, _ = post(url, b"", method="OPTIONS")
    assert status == 200
    assert "POST" in headers.get("Access-Control-Allow-Methods", "")


def test_rerun_changes_nothing_and_status_shows_everything(served, server):
    cli, _ = served
    lam = server.client("lambda")
    before = lam.get_function(FunctionName="mysfits-recommendations")["Configuration"]["LastModified"]
    again = cli.run("up", "recommendations")
    assert "Creating" not in again.stderr
    assert lam.get_function(FunctionName="mysfits-recommendations")["Configuration"]["LastModified"] == before
    kinds = {r["kind"] for r in cli.status()["resources"] if not r["missing"]}
    assert {"iam-role", "lambda-function", "rest-api", "lambda-permission", "log-group", "endpoint"} <= kinds


def test_teardown_leaves_no_function_api_or_role(server, tmp_path):
    from tests.e2e.conftest import Cli

    cli = Cli(server, tmp_path / "state.json", stack="other")
    cli.run("train", "--rows", "5000", "--sample-size", "1000", "--no-logs")
    cli.run("deploy-endpoint", "--no-evaluate")
    cli.run("up", "recommendations")
    cli.run("teardown", "--yes", "--purge-data")
    assert [f for f in server.client("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("other-")] == []
    assert [a for a in server.client("apigateway").get_rest_apis()["items"] if a["name"].startswith("other-")] == []
    assert [r for r in server.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("other-")] == []


def test_website_page_is_served_with_both_api_urls(served):
    cli, url = served
    cli.run("up", "api", "--no-auth")
    site = cli.run("up", "web").stdout.strip().splitlines()[-1]
    with urllib.request.urlopen(site, timeout=10) as response:  # anonymous, as a browser asks
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    outputs = cli.status()["outputs"]
    assert json.dumps(outputs["recommendations_api_url"]) in page
    assert json.dumps(outputs["mysfits_api_url"]) in page
    assert "Recommend a Mysfit" in page
