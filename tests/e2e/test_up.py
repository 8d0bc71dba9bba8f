"""`mysfits up` and `mysfits plan` over the whole graph, as a user runs them against the local cloud's server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from mysfits_cli.local import seed
from tests.support.killproxy import KillProxy

pytestmark = pytest.mark.e2e

PARTS = ("api", "notebook", "train", "endpoint", "recommendations", "web")
# A dependent's deletion is printed before what it needs.
TEARDOWN_BEFORE = [
    ("web-page", "rest-api mysfits-api"), ("rest-api mysfits-api", "vpc-link"),
    ("lambda-permission", "rest-api mysfits-recommendations-api"), ("lambda-function", "log-group"),
    ("lambda-function", "iam-role mysfits-recommendations-role"), ("endpoint knn", "endpoint-config"),
    ("endpoint-config", "model "), ("model ", "iam-role mysfits-notebook-role"),
    ("notebook-instance", "iam-role mysfits-notebook-role"),
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

        up = _through(proxy, server, tmp_path, "up", "--rows", "20000")
        assert up.returncode == 0, up.stderr
        for part in PARTS:
            assert re.search(rf"✓ {part}\s+created ", up.stderr), (part, up.stderr)
        assert "Recommendations API (POST):" in up.stdout and "Mysfits API:" in up.stdout

        again = _through(proxy, server, tmp_path, "up", "--rows", "20000")
        assert again.returncode == 0, again.stderr
        assert again.calls == []  # nothing to do: not one mutating call
        assert again.stderr.count("up to date, nothing changed") == len(PARTS)

        after = _through(proxy, server, tmp_path, "plan")
        assert after.calls == []
        actions = re.findall(r"^\s*\d+\s+(\w+)\s", after.stdout, flags=re.M)
        assert len(actions) == 21 and set(actions) <= {"unchanged", "read"}, after.stdout

        down = _through(proxy, server, tmp_path, "teardown", "--yes", "--purge-data")
        assert down.returncode == 0, down.stderr
    lines = down.stderr.splitlines()
    for first, then in TEARDOWN_BEFORE:
        first_at = next(i for i, line in enumerate(lines) if first in line and "✓" in line)
        then_at = next(i for i, line in enumerate(lines) if then in line and "✓" in line)
        assert first_at < then_at, (first, then, down.stderr)


def test_a_failing_chain_stops_only_what_needs_it_and_the_rerun_finishes(cli, server):
    cli.stack = "broken"
    failed = cli.run("up", "--rows", "50", "--k", "100", check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert re.search(r"✓ api\s+created", failed.stderr) and re.search(r"✓ notebook\s+created", failed.stderr)
    assert re.search(r"✗ train\s+Training job: .*k \(100\) is larger than", failed.stderr)
    assert re.search(r"– endpoint\s+Model: needs the training job", failed.stderr)
    assert re.search(r"– web\s+Site page: needs ", failed.stderr)
    assert "`mysfits --stack broken" in failed.stderr and "carries on from here" in failed.stderr

    resumed = cli.run("up", "--rows", "50", "--k", "5", "--site-bucket", seed.bucket_name())
    assert re.search(r"✓ api\s+up to date", resumed.stderr)
    assert "Training again: k 100 → 5" in resumed.stderr
    assert not [r for r in cli.status()["resources"] if r["missing"]]
    cli.run("teardown", "--yes", "--purge-data")


def test_ctrl_c_leaves_a_whole_state_says_what_still_runs_and_the_rerun_carries_on(cli, server, tmp_path):
    cli.stack = "interrupted"
    command = [sys.executable, "-m", "mysfits_cli.cli", "--stack", cli.stack, "--state-file", str(cli.state_file),
               "up", "--only", "train", "--rows", "400000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               text=True, env=server.env(MYSFITS_POLL_SECONDS="0.05", COLUMNS="200"))
    seen = ""
    deadline = time.monotonic() + 120
    while "Creating training-job" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    err = seen + err
    assert process.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    state = json.loads(cli.state_file.read_text())  # whole, and the job is recorded
    [section] = [s for k, s in state["stacks"].items() if k.startswith("interrupted/")]
    assert section["resources"]["train.job"]["name"].startswith("interrupted-knn-")
    if "Still running on AWS" in err:
        assert "training job interrupted-knn-" in err and "teardown`" in err

    resumed = cli.run("up", "--only", "train", "--rows", "400000")
    assert "Training again" not in resumed.stderr  # the same job, followed
    jobs = [j for j in server.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
            if j["TrainingJobName"].startswith("interrupted-knn-")]
    assert len(jobs) == 1
    cli.run("teardown", "--yes", "--purge-data")


def test_up_plan_shows_the_plan_asks_first_and_applies_with_yes(cli):
    cli.stack = "planned"
    refused = cli.run("up", "--plan", "--only", "api", "--no-auth", check=False)
    assert refused.returncode == 1 and re.search(r"\d+\s+create\s+api\s+Mysfits API", refused.stdout)
    assert "pass --yes to apply when not running interactively" in refused.stderr
    assert cli.status()["resources"] == []  # nothing was created
    applied = cli.run("up", "--plan", "--yes", "--only", "api", "--no-auth")
    assert re.search(r"✓ api\s+created", applied.stderr)
    cli.run("teardown", "--yes")
