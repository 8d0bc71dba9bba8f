"""`mysfits up api` → status → up api again → render swagger → teardown, as a user runs them."""

from __future__ import annotations

import json

from openapi_spec_validator import validate


def test_api_lifecycle(cli, server):
    first = cli.run("up", "api")
    apigw = server.client("apigateway")
    [api] = [a for a in apigw.get_rest_apis()["items"] if a["name"] == "mysfits-api"]
    url = first.stdout.strip().splitlines()[-1]
    assert url == f"{server.url}/restapis/{api['id']}/prod/_user_request_/mysfits"
    assert "created vpc-link mysfits-api-vpc-link, rest-api mysfits-api" in first.stderr  # one line per part

    status = cli.status()
    kinds = {r["kind"]: r for r in status["resources"]}
    assert kinds["rest-api"]["live"] == "DEPLOYED" and kinds["vpc-link"]["live"] == "AVAILABLE"
    assert status["outputs"]["mysfits_api_url"].endswith("/prod/_user_request_")

    again = cli.run("up", "api")
    assert "api              up to date, nothing changed" in again.stderr
    assert [a["name"] for a in apigw.get_rest_apis()["items"]].count("mysfits-api") == 1
    assert len(apigw.get_vpc_links()["items"]) == 1

    rendered = cli.run("render", "swagger")
    document = json.loads(rendered.stdout)
    validate(document)
    assert "REPLACE_ME" not in rendered.stdout

    # the API really routes to the backend behind the NLB (through the local data plane)
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        assert len(json.loads(response.read())["mysfits"]) == 12

    down = cli.run("teardown", "--yes")
    assert "is gone" in down.stdout
    assert [a for a in apigw.get_rest_apis()["items"] if a["name"] == "mysfits-api"] == []
    assert apigw.get_vpc_links()["items"] == []
    assert cli.status()["resources"] == []


def test_recorded_but_deleted_is_flagged(cli, server):
    cli.run("up", "api", "--no-auth")
    apigw = server.client("apigateway")
    api_id = next(a["id"] for a in apigw.get_rest_apis()["items"] if a["name"] == "mysfits-api")
    apigw.delete_rest_api(restApiId=api_id)
    rest = next(r for r in cli.status(missing=True)["resources"] if r["kind"] == "rest-api")
    assert rest["missing"] is True
    cli.run("up", "api", "--no-auth")  # converges: a new API
    cli.run("teardown", "--yes")
    assert apigw.get_rest_apis()["items"] == []


def test_missing_nlb_via_cli(cli):
    result = cli.run("up", "api", "--nlb", "no-such-nlb", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "No network load balancer 'no-such-nlb'" in result.stderr
