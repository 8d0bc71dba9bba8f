"""Kill it anywhere: every command, SIGKILLed right after each of its mutating calls reached AWS, then run again.

The proxy in tests/support/killproxy.py lets each mutating request reach the server, then kills
the CLI's process group before it hears the answer. Each command is re-run until it completes;
every one of its mutating calls has then been a kill point once. Some moments between mutating
calls are kill points too: while the training data is generated and encoded, while its second
upload is in progress (the first done, the second not yet in S3), and during the waits for a VPC
link and a training job. After each of the data's, `status` reads the stack. At the end: nothing was created twice, no extra
training job, every owned property is right, the state file was whole JSON after every kill, and
one teardown (killed the same way) leaves nothing behind.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mysfits_cli.local import seed
from tests.support.killproxy import KillProxy, Moment

pytestmark = pytest.mark.e2e

TAG = {"Key": "mysfits:stack", "Value": "mysfits"}
BUCKET = "sagemaker-us-east-1-123456789012"
DATA_MOMENTS = [
    Moment(line="Creating s3-data"),  # generating and encoding: nothing uploaded yet
    Moment(request=f"s3 PUT /{BUCKET}/mysfits/test/"),  # the training split uploaded, the test split in progress
]
# Each command, with the moments between its mutating calls that are kill points too.
COMMANDS = [
    (("up", "api"), [Moment(request="apigateway GET /vpclinks/")]),  # polling the new VPC link
    (("up", "notebook"), []),
    # enough rows that generating and encoding them takes a while (a tenth of a second)
    (("train", "--rows", "100000", "--sample-size", "500", "--no-logs"), [
        *DATA_MOMENTS,
        Moment(request="sagemaker DescribeTrainingJob", nth=2),  # following the job: the first after its look-up
    ]),
    (("deploy-endpoint", "--no-evaluate"), []),
    (("up", "recommendations"), []),
    (("up", "web"), []),
]


def _starter(server, state_file, *args):
    env = server.env(MYSFITS_POLL_SECONDS="0.05", COLUMNS="200")
    env.pop("MYSFITS_ENDPOINT_URL")

    def start(url: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "mysfits_cli.cli", "--endpoint-url", url, "--state-file", str(state_file), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
            start_new_session=True,  # its own process group, as a terminal's job would be
        )

    return start


def _whole_json(state_file, server=None):
    """After each run: the state file is whole JSON; after a kill while the data is made or uploaded, `status`
    reads every record (the data's intent among them)."""

    def check(run) -> None:
        if state_file.exists():
            json.loads(state_file.read_text())  # never half written, whatever the moment of the kill
        if server is not None and run.killed_after in DATA_MOMENTS:
            status = subprocess.run(
                [sys.executable, "-m", "mysfits_cli.cli", "--state-file", str(state_file), "status", "--json"],
                capture_output=True, text=True, env=server.env())
            assert status.returncode == 0, (str(run.killed_after), status.stdout, status.stderr)
            assert json.loads(status.stdout)["unreadable"] == 0

    return check


def _tagged(client, arn_key: str, items: list[dict]) -> list[dict]:
    return [item for item in items if TAG in client.list_tags(ResourceArn=item[arn_key]).get("Tags", [])]


def test_every_command_converges_after_a_kill_right_after_each_mutating_call(server, tmp_path):
    state_file = tmp_path / "state.json"
    s3 = server.client("s3")
    site_bucket, page_key = seed.bucket_name(), "web/index.html"  # the python-cdk site the local cloud seeds
    assert s3.get_object(Bucket=site_bucket, Key=page_key)["Body"].read() == seed.WORKSHOP_PAGE
    kills: dict[str, int] = {}
    with KillProxy(server.url) as proxy:
        for args, moments in COMMANDS:
            runs = proxy.until_converged(_starter(server, state_file, *args), check=_whole_json(state_file, server),
                                         moments=moments)
            kills[" ".join(args[:2])] = len(runs) - 1
            if args[0] == "train":  # the kill while making the data came before any of it reached S3
                [making] = [run for run in runs if run.killed_after == Moment(line="Creating s3-data")]
                assert not [call for call in making.calls if f"/{BUCKET}/mysfits/" in call.target], making.calls
        assert all(kills.values()), kills

        # nothing twice
        apigw, sagemaker = server.client("apigateway"), server.client("sagemaker")
        assert sorted(a["name"] for a in apigw.get_rest_apis()["items"]) == ["mysfits-api", "mysfits-recommendations-api"]
        assert len(apigw.get_vpc_links()["items"]) == 1
        assert len(sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1
        assert len(sagemaker.list_notebook_instances()["NotebookInstances"]) == 1
        assert len(_tagged(sagemaker, "EndpointArn", sagemaker.list_endpoints()["Endpoints"])) == 1
        assert len(_tagged(sagemaker, "EndpointConfigArn", sagemaker.list_endpoint_configs()["EndpointConfigs"])) == 1
        assert len(_tagged(sagemaker, "ModelArn", sagemaker.list_models()["Models"])) == 1
        assert [f["FunctionName"] for f in server.client("lambda").list_functions()["Functions"]] == ["mysfits-recommendations"]
        assert b'name="generator" content="mysfits"' in s3.get_object(Bucket=site_bucket, Key=page_key)["Body"].read()
        assert s3.get_object(Bucket=site_bucket, Key=f"{page_key}.before-mysfits")["Body"].read() == seed.WORKSHOP_PAGE

        # every owned property right
        bucket = BUCKET
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
        assert TAG in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        [group] = server.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/mysfits-")["logGroups"]
        assert group["retentionInDays"] == 14
        iam = server.client("iam")
        for role in ("mysfits-us-east-1-notebook-role", "mysfits-us-east-1-recommendations-role"):
            assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [f"{role}-policy"]
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "mysfits_cli.cli", "--state-file", str(state_file), "status", "--json"],
            capture_output=True, text=True, env=server.env(), check=True).stdout)
        assert not [r for r in status["resources"] if r["missing"] or r["pending"] or r["superseded"]]

        # one teardown, killed the same way, leaves nothing behind
        runs = proxy.until_converged(_starter(server, state_file, "teardown", "--yes", "--purge-data"),
                                     check=_whole_json(state_file))
        kills["teardown"] = len(runs) - 1
    assert apigw.get_rest_apis()["items"] == [] and apigw.get_vpc_links()["items"] == []
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
    assert _tagged(sagemaker, "EndpointArn", sagemaker.list_endpoints()["Endpoints"]) == []
    assert _tagged(sagemaker, "EndpointConfigArn", sagemaker.list_endpoint_configs()["EndpointConfigs"]) == []
    assert _tagged(sagemaker, "ModelArn", sagemaker.list_models()["Models"]) == []
    assert server.client("lambda").list_functions()["Functions"] == []
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("mysfits-")] == []
    assert [b for b in s3.list_buckets()["Buckets"] if b["Name"] == bucket] == []
    assert s3.get_object(Bucket=site_bucket, Key=page_key)["Body"].read() == seed.WORKSHOP_PAGE  # the user's page
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=site_bucket).get("Contents", [])
            if o["Key"].endswith(".before-mysfits")] == []
    assert json.loads(state_file.read_text())["stacks"]["mysfits/us-east-1/123456789012"]["resources"] == {}
    print(f"kill points per command: {kills}, {sum(kills.values())} in all")
