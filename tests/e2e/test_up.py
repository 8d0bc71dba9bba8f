"""`mysfits up` and `mysfits plan` over the whole graph, as a user runs them against the local cloud's server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from mysfits_cli.local import seed
from tests.e2e.conftest import Cli
from tests.support.cloud import start_server
from tests.support.killproxy import KillProxy
from tests.support.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

PARTS = ("api", "notebook", "train", "endpoint", "recommendations", "web")
# A dependent's deletion is printed before what it needs.
TEARDOWN_BEFORE = [
    ("web-page", "rest-api mysfits-api"), ("rest-api mysfits-api", "vpc-link"),
    ("lambda-permission", "rest-api mysfits-recommendations-api"), ("lambda-function", "log-group"),
    ("lambda-function", "iam-role mysfits-us-east-1-recommendations-role"), ("endpoint knn", "endpoint-config"),
    ("endpoint-config", "model "), ("model ", "iam-role mysfits-us-east-1-notebook-role"),
    ("notebook-instance", "iam-role mysfits-us-east-1-notebook-role"),
]


def _through(proxy: KillProxy, server, tmp_path, *args):
    """Run the CLI through the recording proxy, without killing it; the run and its mutating calls."""
    env = server.env(MYSFITS_POLL_SECONDS="0.05", COLUMNS="200")
    env.pop("MYSFITS_ENDPOINT_URL")

    def start(url):
        return subprocess.Popen(
            [sys.executable, "-m", "mysfits_cli.cli", "--endpoint-url", url, "--state-file", str(tmp_path / "s.json"),
             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)

    return proxy.run(start, kill=False)


def test_up_from_nothing_again_plan_before_and_after_and_teardown_in_graph_order(server, tmp_path):
    with KillProxy(server.url) as proxy:
        before = _through(proxy, server, tmp_path, "plan", "--rows", "20000")
        assert before.returncode == 0, before.stderr
        assert before.calls == []  # plan changes nothing
        assert re.search(r"\d+\s+create\s+endpoint\s+Endpoint", before.stdout) and "Training job" in before.stdout
        assert "Once up: " in before.stdout and "1 × ml.m4.xlarge" in before.stdout  # what it will cost
        fresh = re.findall(r"^\s*\d+\s+(\w+)\s", before.stdout, flags=re.M)
        assert "unchanged" not in fresh and re.search(r"create\s+train\s+Model artifacts", before.stdout)

        up = _through(proxy, server, tmp_path, "up", "--rows", "20000")
        assert up.returncode == 0, up.stderr
        for part in PARTS:
            assert re.search(rf"✓ {part}\s+created ", up.stderr), (part, up.stderr)
        assert "Recommendations API (POST):" in up.stdout and "Mysfits API:" in up.stdout

        again = _through(proxy, server, tmp_path, "up", "--rows", "20000")
        assert again.returncode == 0, again.stderr
        assert again.calls == []  # nothing to do: not one mutating call
        # one line per part, and nothing else: no training log, no metrics, no "InService after 0m00s"
        assert [line.split()[:2] for line in again.stderr.splitlines()] == [["✓", part] for part in PARTS]
        assert again.stderr.count("up to date, nothing changed") == len(PARTS) and "Final metrics" not in again.stdout

        after = _through(proxy, server, tmp_path, "plan")
        assert after.calls == []
        actions = re.findall(r"^\s*\d+\s+(\w+)\s", after.stdout, flags=re.M)
        assert len(actions) == 21 and set(actions) <= {"unchanged", "read"}, after.stdout
        assert "while it trains" not in after.stdout  # the completed job bills nothing
        assert "completed, trained with k 10, sample size 100,000" in " ".join(after.stdout.split())

        down = _through(proxy, server, tmp_path, "teardown", "--yes", "--purge-data")
        assert down.returncode == 0, down.stderr
    # what it says is what happened: no check mark for a state on the way, no wait of "0 s", nothing was gone already
    assert not re.search(r"InService|AVAILABLE|waiting 0 s|already gone|deleting:", down.stderr), down.stderr
    lines = down.stderr.splitlines()
    for first, then in TEARDOWN_BEFORE:
        first_at = next(i for i, line in enumerate(lines) if first in line and "✓" in line)
        then_at = next(i for i, line in enumerate(lines) if then in line and "✓" in line)
        assert first_at < then_at, (first, then, down.stderr)


def test_a_k_that_cannot_work_is_refused_before_anything_and_plan_shows_the_settings(cli):
    cli.stack = "refused"
    refused = cli.run("up", "--rows", "20000", "--k", "200000", check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "--k 200000 is more than the 18,000 training rows (the 90% of --rows 20000 that training gets)" in refused.stderr
    assert "pass --k 18000 or less" in refused.stderr
    assert not cli.state_file.exists()  # nothing was made: no upload, no job, not even the API
    plan = " ".join(cli.run("plan", "--rows", "10", check=False).stdout.split())  # lines wrap at the terminal's width
    assert re.search(r"fail train Training job k 10 by default is more than the 9 training rows", plan), plan
    assert "pass --rows 11 or more, or --k 9 or less" in plan
    plan = " ".join(cli.run("plan", "--rows", "20000", "--k", "15").stdout.split())
    assert "create train Training job trains k 15, sample size 100,000, classifier, on 20,000 generated rows " \
           "(seed 42); 1 × ml.m5.2xlarge at $" in plan, plan


def test_a_failing_chain_stops_only_what_needs_it_and_the_rerun_finishes(cli, server):
    cli.stack = "broken"
    cli.run("up", "--only", "train", "--rows", "50")
    [job] = [r for r in cli.status()["resources"] if r["kind"] == "training-job"]
    artifact = server.client("sagemaker").describe_training_job(TrainingJobName=job["id"])["ModelArtifacts"]
    bucket, key = artifact["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    server.client("s3").put_object(Bucket=bucket, Key=key, Body=b"not a model")  # a new endpoint cannot load it

    failed = cli.run("up", "--rows", "50", check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert re.search(r"✓ api\s+created", failed.stderr) and re.search(r"✓ notebook\s+created", failed.stderr)
    assert re.search(r"✓ train\s+up to date", failed.stderr)
    assert re.search(r"✗ endpoint\s+Endpoint: Endpoint knn-.* is Failed: Failed to extract model data", failed.stderr)
    assert re.search(r"– recommendations\s+Recommendations role: needs the endpoint", failed.stderr)
    assert re.search(r"– web\s+Site page: needs ", failed.stderr)
    # the last line: what failed, and the command that carries on (no price after it)
    assert failed.stderr.rstrip().splitlines()[-1] == (
        f"! The endpoint failed (see above): fix it, then `mysfits --stack broken --state-file {cli.state_file} up "
        "--rows 50` carries on from here; the parts that did not fail are up")

    before = cli.state_file.read_text()
    shown, code = run_in_terminal(["--stack", cli.stack, "--state-file", str(cli.state_file), "teardown"],
                                  server.env(COLUMNS="200"), [b"n\n"], prompt_end=b"]:")
    assert code == 1 and shown.rstrip().endswith("Teardown cancelled: nothing was deleted."), shown
    assert cli.state_file.read_text() == before

    resumed = cli.run("up", "--rows", "50", "--new", "--site-bucket", seed.bucket_name())
    assert re.search(r"✓ api\s+up to date", resumed.stderr)
    assert "Training again (--new)" in resumed.stderr and "is Failed: deleting it and creating a new one" in resumed.stderr
    assert not [r for r in cli.status()["resources"] if r["missing"]]
    cli.run("teardown", "--yes", "--purge-data")


@pytest.fixture(scope="module")
def slow_server():
    """Lenient, with AWS's durations at full length: a training job stays InProgress until the clock is advanced."""
    with start_server(strict=False, latency="aws", time_scale=1.0) as handle:
        yield handle


def test_ctrl_c_delivered_twice_at_once_leaves_a_whole_state_says_what_still_runs_and_the_rerun_carries_on(
        slow_server, tmp_path):
    cli = Cli(slow_server, tmp_path / "state.json", "interrupted")
    command = [sys.executable, "-m", "mysfits_cli.cli", "--stack", cli.stack, "--state-file", str(cli.state_file),
               "up", "--only", "train", "--rows", "20000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               text=True, env=slow_server.env(MYSFITS_POLL_SECONDS="0.05", COLUMNS="200"),
                               start_new_session=True)
    seen = ""
    deadline = time.monotonic() + 120
    while "Creating training-job" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    # as `timeout -s INT` signals: the command, then its whole process group
    os.kill(process.pid, signal.SIGINT)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    err = seen + err
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Ctrl-C again" in err
    assert re.search(r"! train\s+", err)  # the summary, one line per part
    # on an AWS stand-in, which bills nothing
    assert f"Still running on the AWS stand-in at {slow_server.url} (nothing bills there): training job " \
           "interrupted-knn-" in err and "teardown`" in err and "$" not in err
    assert "Interrupted. Everything created so far is recorded" in err
    state = json.loads(cli.state_file.read_text())  # whole, and the job is recorded
    [section] = [s for k, s in state["stacks"].items() if k.startswith("interrupted/")]
    assert section["resources"]["train.job"]["name"].startswith("interrupted-knn-")

    sagemaker = slow_server.client("sagemaker")
    for _ in range(100):  # AWS's minutes of starting instances and pulling the image, at once: it trains
        if sagemaker.describe_training_job(TrainingJobName=section["resources"]["train.job"]["name"])[
                "TrainingJobStatus"] != "InProgress":
            break
        slow_server.advance(300)
        time.sleep(0.1)
    resumed = cli.run("up", "--only", "train", "--rows", "20000")
    assert "Training again" not in resumed.stderr  # the same job, followed
    assert [j["TrainingJobStatus"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]] == ["Completed"]


def test_up_plan_shows_the_plan_asks_first_and_applies_with_yes(cli, server):
    cli.stack = "planned"
    refused = cli.run("up", "--plan", "--only", "api", "--no-auth", check=False)
    assert refused.returncode == 1 and re.search(r"\d+\s+create\s+api\s+Mysfits API", refused.stdout)
    assert "pass --yes to apply when not running interactively" in refused.stderr
    shown, code = run_in_terminal(["--stack", cli.stack, "--state-file", str(cli.state_file), "up", "--plan", "--only",
                                   "api", "--no-auth"], server.env(COLUMNS="200"), [b"n\n"], prompt_end=b"]:")
    assert code == 1 and shown.rstrip().endswith("Plan not applied: nothing was changed."), shown
    assert cli.status()["resources"] == []  # nothing was created
    applied = cli.run("up", "--plan", "--yes", "--only", "api", "--no-auth")
    assert re.search(r"✓ api\s+created", applied.stderr)
    cli.run("teardown", "--yes")


# ---- the same stack in two regions of one account: each owns its global resources ----------------------

FIRST, SECOND = "us-east-1", "il-central-1"
UP = ("up", "--rows", "3000", "--no-evaluate")


def _recommend(api_url: str) -> dict:
    request = urllib.request.Request(f"{api_url}/recommendations", data=json.dumps({"entry": [1, 2, 3, 4, 5]}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _role_regions(iam, role: str) -> set[str]:
    """The regions a role's inline policy grants (every ARN that names one)."""
    [policy] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    resources = [r for s in document["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    return {arn.split(":")[3] for arn in resources if arn.startswith("arn:") and arn.split(":")[3]}


def test_a_second_region_owns_its_own_roles_leaves_the_site_page_and_tears_down_only_its_own(cli, server):
    iam, s3 = server.client("iam"), server.client("s3")
    site, page = seed.bucket_name(), "web/index.html"
    cli.run(*UP)
    first = cli.status()
    api_url = first["outputs"]["recommendations_api_url"]
    first_roles = {r["name"] for r in first["resources"] if r["kind"] == "iam-role"}
    assert first_roles == {f"mysfits-{FIRST}-notebook-role", f"mysfits-{FIRST}-recommendations-role"}
    published = s3.get_object(Bucket=site, Key=page)["Body"].read()

    seed.seed(SECOND, endpoint_url=server.url)  # the workshop's earlier modules, in the second region too
    second = cli.run("--region", SECOND, *UP, check=False)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"published by stack mysfits in {FIRST}" in second.stderr  # the site's page is the first region's
    for role in (f"mysfits-{SECOND}-notebook-role", f"mysfits-{SECOND}-recommendations-role"):
        assert f"Creating iam-role {role}" in second.stderr
    assert "iam-role mysfits-us-east-1" not in second.stderr
    assert s3.get_object(Bucket=site, Key=page)["Body"].read() == published

    cli.run("--region", SECOND, "teardown", "--yes", "--purge-data")
    after = cli.status()  # the first region's stack, whole
    assert not [r for r in after["resources"] if r["missing"]]
    for role in first_roles:
        assert _role_regions(iam, role) == {FIRST}
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if SECOND in r["RoleName"]] == []
    assert "recommendedMysfit" in _recommend(api_url)
    assert s3.get_object(Bucket=site, Key=page)["Body"].read() == published

    cli.run("teardown", "--yes", "--purge-data")  # the site is shared by the tests of this module
    assert s3.get_object(Bucket=site, Key=page)["Body"].read() == seed.WORKSHOP_PAGE
