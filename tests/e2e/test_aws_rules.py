"""The tool against the strict local cloud: each AWS rule moto does not play, and how the tool survives it.

Each test starts a strict server with the time scale its rule needs to bite (one AWS second lasts
`time_scale` real seconds), runs the CLI as a user would, and checks what AWS would leave behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.cloud import start_server

pytestmark = pytest.mark.e2e


class Cli:
    def __init__(self, server, state_file: Path, stack: str = "mysfits"):
        self.server, self.state_file, self.stack = server, state_file, stack

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mysfits_cli.cli", "--stack", self.stack, "--state-file",
                   str(self.state_file), *args]
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
                                env=self.server.env(MYSFITS_POLL_SECONDS="0.05", COLUMNS="200", **env))
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def records(self) -> dict:
        data = json.loads(self.state_file.read_text())
        return next(s for k, s in data["stacks"].items() if k.startswith(f"{self.stack}/"))["resources"]


def test_teardown_paces_delete_rest_api_to_its_quota_and_waits_it_out(tmp_path):
    # 1 DeleteRestApi per 30 s per account; at this scale the window lasts 9 s
    with start_server(strict=True, time_scale=0.3) as server:
        first, second = Cli(server, tmp_path / "a.json", "first"), Cli(server, tmp_path / "b.json", "second")
        first.run("up", "api", "--no-auth")
        second.run("up", "api", "--no-auth")
        first.run("teardown", "--yes")
        down = second.run("teardown", "--yes")  # inside the window the first teardown opened
        assert server.client("apigateway").get_rest_apis()["items"] == []
    assert "DeleteRestApi quota" in down.stderr and "is gone" in down.stdout


def test_a_failed_endpoint_update_rolls_back_keeps_what_serves_and_fails_the_command(tmp_path):
    with start_server(strict=True) as server:
        cli = Cli(server, tmp_path / "s.json")
        cli.run("up", "--only", "train,endpoint", "--rows", "5000", "--no-evaluate")
        serving = cli.records()["endpoint.config"]["name"]
        cli.run("train", "--new", "--no-logs")
        artifact = cli.records()["train.job"]["model_artifact"]
        bucket, key = artifact.removeprefix("s3://").split("/", 1)
        server.client("s3").put_object(Bucket=bucket, Key=key, Body=b"not a tar.gz archive")

        failed = cli.run("deploy-endpoint", "--no-evaluate", check=False)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
        assert f"rolled back to {serving}, which still serves" in failed.stderr
        assert "Failed to extract model data archive" in failed.stderr  # SageMaker's own reason
        sagemaker = server.client("sagemaker")
        endpoint = sagemaker.describe_endpoint(EndpointName=cli.records()["endpoint.endpoint"]["name"])
        assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == serving
        assert serving in [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
        assert len(sagemaker.list_models()["Models"]) == 2  # the serving model is kept beside the new one
        assert "accuracy" in cli.run("evaluate").stdout  # the old model still answers
        cli.run("teardown", "--yes", "--purge-data")
        assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_a_refused_codecommit_repository_is_a_warning_and_the_notebook_still_comes_up(tmp_path):
    with start_server(strict=True, codecommit="closed") as server:
        cli = Cli(server, tmp_path / "s.json")
        up = cli.run("up", "notebook")
        assert "No CodeCommit repository" in up.stderr and "--no-repository" in up.stderr
        assert "notebook.repository" not in cli.records() and "notebook.instance" in cli.records()
        again = cli.run("up", "notebook", "--no-repository")
        assert "CodeCommit" not in again.stderr
        cli.run("teardown", "--yes")


def test_a_new_role_not_yet_usable_is_waited_for_and_a_job_it_failed_is_started_again(tmp_path):
    # a new role is refused for 10 AWS seconds and fails a training job until 20: here 3 s and 6 s, so
    # that the notebook instance, asked for about a second after the role on a busy machine, meets the refusal
    with start_server(strict=True, time_scale=0.3) as server:
        cli = Cli(server, tmp_path / "s.json")
        up = cli.run("up", "--only", "notebook,train", "--rows", "3000")
        assert "Waiting for IAM to make the new role usable" in up.stderr
        sagemaker = server.client("sagemaker")
        assert sagemaker.list_notebook_instances()["NotebookInstances"][0]["NotebookInstanceStatus"] == "InService"
        jobs = {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
        assert list(jobs.values()).count("Completed") == 1
        if "failed because IAM had not spread the new role yet" in up.stderr:
            assert list(jobs.values()).count("Failed") == 1  # retried once, under a new name
        cli.run("teardown", "--yes", "--purge-data")


def test_in_a_newer_region_older_instance_types_give_way_or_are_refused_before_anything_is_made(tmp_path):
    region = "il-central-1"
    with start_server(strict=True, region=region) as server:
        cli = Cli(server, tmp_path / "s.json")
        refused = cli.run("--region", region, "up", "notebook", "--instance-type", "ml.t2.medium", check=False)
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
        assert f"ml.t2.medium is not offered for notebook instances in {region}" in refused.stderr
        assert "ml.t3.medium" in refused.stderr
        assert server.client("iam", region).list_roles()["Roles"] == []  # nothing was created

        up = cli.run("--region", region, "up", "notebook")
        assert f"ml.t2.medium is not offered for notebook instances in {region}: using ml.t3.medium" in up.stderr
        [notebook] = server.client("sagemaker", region).list_notebook_instances()["NotebookInstances"]
        assert notebook["InstanceType"] == "ml.t3.medium"
        cli.run("--region", region, "teardown", "--yes")


def test_a_slow_endpoint_gets_the_caller_a_json_503_with_cors_inside_api_gateway_s_cut(tmp_path):
    with start_server(strict=True, endpoint_delay=10) as server:  # each answer 10 real seconds late
        cli = Cli(server, tmp_path / "s.json")
        cli.run("up", "--only", "train,endpoint,recommendations", "--rows", "3000", "--no-evaluate")
        url = f"{json.loads(cli.run('status', '--json').stdout)['outputs']['recommendations_api_url']}/recommendations"
        request = urllib.request.Request(url, data=json.dumps({"entry": [1, 2, 3, 4, 5]}).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=60)
        assert answer.value.code == 503
        assert answer.value.headers["Access-Control-Allow-Origin"] == "*"
        body = answer.value.read().decode()
        assert json.loads(body)["message"]
        assert "123456789012" not in body and "knn-" not in body and "arn:" not in body
        cli.run("teardown", "--yes", "--purge-data")
