"""The local cloud as the CLI uses it: a background server found, killed, restarted and stopped."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import zipfile

import boto3
import pytest

from mysfits_cli.local import manager, seed
from tests.support.cloud import start_server

pytestmark = pytest.mark.e2e


def _client(cloud, service):
    return boto3.client(service, endpoint_url=cloud.url, region_name=cloud.region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while manager._pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_start_status_kill_restart_stop():
    assert manager.status() is None
    cloud = manager.start()
    try:
        assert cloud.url == f"http://127.0.0.1:{cloud.port}"
        assert manager.status() == cloud
        assert json.loads(manager.record_path().read_text())["pid"] == cloud.pid
        assert manager.start() == cloud  # already running: the same one

        lbs = _client(cloud, "elbv2").describe_load_balancers(Names=[seed.NLB_NAME])["LoadBalancers"]
        assert lbs[0]["Type"] == "network" and lbs[0]["Scheme"] == "internet-facing"
        assert len({az["ZoneName"] for az in lbs[0]["AvailabilityZones"]}) == 2
        pools = _client(cloud, "cognito-idp").list_user_pools(MaxResults=10)["UserPools"]
        assert [p["Name"] for p in pools] == [seed.USER_POOL_NAME]
        tags = _client(cloud, "s3").get_bucket_tagging(Bucket=seed.bucket_name())["TagSet"]
        assert {"Key": "mysfits:stack", "Value": "mysfits"} in tags
        assert _client(cloud, "dynamodb").scan(TableName=seed.TABLE_NAME)["Count"] == 12

        os.kill(cloud.pid, signal.SIGKILL)
        _wait_dead(cloud.pid)
        assert manager.status() is None

        restarted = manager.ensure_running("us-east-1")
        assert restarted.pid != cloud.pid
        assert restarted.port == cloud.port  # URLs handed out before keep working
        assert manager.status() == restarted
        assert _client(restarted, "dynamodb").list_tables()["TableNames"] == [seed.TABLE_NAME]
    finally:
        stopped = manager.stop()
    assert stopped
    assert manager.status() is None
    assert not manager.record_path().exists()
    assert manager.stop() is False


def test_concurrent_starts_share_one_server():
    results, errors = [], []

    def start():
        try:
            results.append(manager.ensure_running("us-east-1"))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors
        assert len({cloud.pid for cloud in results}) == 1
        # a second region is seeded on first use
        other = manager.ensure_running("eu-west-1")
        assert other == results[0]
        assert _client(manager.LocalCloud(other.url, other.port, other.pid, "eu-west-1", other.started_at),
                       "dynamodb").list_tables()["TableNames"] == [seed.TABLE_NAME]
    finally:
        manager.stop()


LAMBDA_SOURCE = """
import boto3, json

def handler(event, context):
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    return {"statusCode": 200, "body": json.dumps({"tables": tables, "entry": json.loads(event["body"])})}
"""


def test_server_runs_a_lambda_that_calls_back_into_the_cloud():
    """Over real HTTP: the REST API, the Lambda subprocess, and its boto3 calls back to the server.

    Lenient: the role here is a bare fixture, not one strict mode's IAM rules would accept.
    """
    with start_server(strict=False) as server:
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("index.py", LAMBDA_SOURCE)
        role = server.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        function = server.client("lambda").create_function(
            FunctionName="tables", Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": code.getvalue()}, Timeout=10,
        )["FunctionArn"]
        gateway = server.client("apigateway")
        api = gateway.create_rest_api(name="recs")["id"]
        root = gateway.get_resources(restApiId=api)["items"][0]["id"]
        resource = gateway.create_resource(restApiId=api, parentId=root, pathPart="recommendations")["id"]
        gateway.put_method(restApiId=api, resourceId=resource, httpMethod="POST", authorizationType="NONE")
        gateway.put_integration(
            restApiId=api, resourceId=resource, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{server.region}:lambda:path/2015-03-31/functions/{function}/invocations",
        )
        gateway.create_deployment(restApiId=api, stageName="prod")

        request = urllib.request.Request(
            f"{server.url}/execute-api/{api}/prod/recommendations", data=b'{"entry": [1, 2, 3, 4, 5]}',
            method="POST", headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read()) == {"tables": [seed.TABLE_NAME], "entry": {"entry": [1, 2, 3, 4, 5]}}

        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}/execute-api/{api}/prod/nothing", timeout=10)
        assert missing.value.code == 403
        assert json.loads(missing.value.read()) == {"message": "Missing Authentication Token"}


def test_unseeded_server_is_empty():
    with start_server(seed=False) as server:
        assert server.client("dynamodb").list_tables()["TableNames"] == []
