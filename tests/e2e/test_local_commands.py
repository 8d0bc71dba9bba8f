"""The `--local` path as a user runs it: the CLI starts the local cloud, restarts a killed one, and `demo` runs it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MYSFITS_ENDPOINT_URL"}
    env.update(MYSFITS_LOCAL_HOME=str(tmp_path / "home"), MYSFITS_POLL_SECONDS="0.1", COLUMNS="200",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    env.update(extra)
    return env


def mysfits(tmp_path, *args, timeout=600, cwd=None, **extra):
    return subprocess.run([sys.executable, "-m", "mysfits_cli.cli", *args], capture_output=True, text=True,
                          cwd=cwd or tmp_path, env=_env(tmp_path, **extra), stdin=subprocess.DEVNULL, timeout=timeout)


def interrupted(tmp_path, *args, when: str) -> tuple[int, str]:
    """`mysfits args`, Ctrl-C'd once `when` is printed: its exit code and what it printed on stderr."""
    process = subprocess.Popen([sys.executable, "-m", "mysfits_cli.cli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=tmp_path,
                               env=_env(tmp_path))
    seen = ""
    deadline = time.monotonic() + 120
    while when not in seen and time.monotonic() < deadline and process.poll() is None:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return process.returncode, seen + err


@pytest.fixture
def local_home(tmp_path):
    yield tmp_path
    mysfits(tmp_path, "local", "stop")


def _cloud(tmp_path) -> dict:
    return json.loads((tmp_path / "home" / "cloud.json").read_text())


def test_killed_local_cloud_is_restarted_by_the_next_command_and_the_hint_clears_what_is_gone(local_home):
    first = mysfits(local_home, "--local", "--stack", "dev", "up", "api")
    assert first.returncode == 0, first.stderr
    assert "Starting the local cloud at http://127.0.0.1:" in first.stderr and "`mysfits local stop` stops it" in first.stderr
    old = _cloud(local_home)
    os.kill(old["pid"], signal.SIGKILL)
    time.sleep(0.5)
    status = mysfits(local_home, "--local", "--stack", "dev", "status", "--json")
    assert status.returncode == 1, status.stderr  # recorded resources are gone
    assert "recorded on a local cloud started" in status.stderr
    hint = "`mysfits --local --stack dev teardown --yes` forgets"  # every global option given, kept
    assert hint in status.stderr and "`mysfits --local --stack dev up` builds the stack again" in status.stderr
    assert _cloud(local_home)["pid"] != old["pid"]
    report = json.loads(status.stdout)
    assert {r["kind"] for r in report["resources"] if r["missing"]} == {"vpc-link", "rest-api"}

    cleared = mysfits(local_home, *hint.strip("`").split("`")[0].split()[1:])  # the hint, as the user copies it
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stderr.count("was already gone") == 2 and "Deleted" not in cleared.stderr
    status = mysfits(local_home, "--local", "--stack", "dev", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["resources"] == []

    again = mysfits(local_home, "--local", "--stack", "dev", "up", "api")
    assert again.returncode == 0, again.stderr
    report = json.loads(mysfits(local_home, "--local", "--stack", "dev", "status", "--json").stdout)
    assert report["resources"] and not any(r["missing"] for r in report["resources"])


def _servers(home: Path) -> list[int]:
    """The live local-cloud servers of this home, whoever their parent is."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"mysfits_cli.local.server" in command and any(str(home).encode() in part for part in command):
            found.append(int(entry.name))
    return found


def test_ctrl_c_while_the_local_cloud_starts_leaves_no_server_the_next_commands_cannot_see(local_home):
    home = local_home / "home"
    process = subprocess.Popen([sys.executable, "-m", "mysfits_cli.cli", "--local", "status"], cwd=local_home,
                               env=_env(local_home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _servers(home) and time.monotonic() < deadline:
        time.sleep(0.02)
    [server] = _servers(home)  # started, not yet answering
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal: the command's process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err

    shown = mysfits(local_home, "local", "status")
    assert f"pid {server}" in shown.stdout, shown.stdout + shown.stderr
    again = mysfits(local_home, "--local", "status")  # uses that one: no second server
    assert again.returncode == 0 and "Starting the local cloud" not in again.stderr, again.stderr
    assert _servers(home) == [server]
    assert mysfits(local_home, "local", "stop").stdout.strip() == "Local cloud stopped."
    assert _servers(home) == []


def _users_stack(local_home) -> tuple[list, dict]:
    """What `status` says of the user's stack, and its section of the state file."""
    report = json.loads(mysfits(local_home, "--local", "status", "--json").stdout)
    sections = json.loads((local_home / "home" / "state.json").read_text())["stacks"]
    [section] = [s for key, s in sections.items() if key.startswith("mysfits/")]
    return [(r["key"], r["name"], r["live"], r["missing"]) for r in report["resources"]], section


def test_demo_on_its_own_stack_carries_on_after_ctrl_c_keeps_its_urls_and_leaves_the_users_stack(local_home):
    odd = mysfits(local_home, "--local", "up", "--skip", "api,notebook,web", "--rows", "3000", "--k", "7",
                  "--no-evaluate")
    assert odd.returncode == 0, odd.stderr
    users = _users_stack(local_home)
    assert users[1]["resources"]["train.job"]["identity"]["k"] == 7
    code, err = interrupted(local_home, "demo", "--rows", "30000", when="Creating training-job")
    assert code == 130, err
    assert err.rstrip().splitlines()[-1] == ("Error: Interrupted. Everything created so far is recorded: "
                                             "`mysfits demo --rows 30000` carries on from here")
    assert "did not come up" not in err and "Traceback" not in err

    kept = mysfits(local_home, "demo", "--keep", "--rows", "30000")
    assert kept.returncode == 0, kept.stderr
    lines = kept.stdout.rstrip().splitlines()  # it ends with the URLs to try, after the time per part
    tail = lines[lines.index("Try it"):]
    assert tail[-2:] == ["  CLI:", "    mysfits --local --stack mysfits-demo recommend 1 2 3 4 5"] and len(tail) == 11
    assert [line.strip() for line in tail[2:8:2]] == [line.strip() for line in tail[2:8:2] if line.strip().startswith(
        "http://127.0.0.1:")]
    assert "Time per part" in kept.stdout.split("Try it")[0]

    result = mysfits(local_home, "demo", "--rows", "30000")
    assert result.returncode == 0, result.stderr
    assert "Recommendations through POST /recommendations" in result.stdout
    # nothing to copy that is about to be deleted; and how to keep it
    # no URL of what it is about to tear down (the local cloud's own address, as it starts, is said)
    printed = [line for line in (result.stdout + result.stderr).splitlines() if "Starting the local cloud" not in line]
    assert not [line for line in printed if "http://" in line or "curl" in line]
    assert "`mysfits demo --keep` leaves it running" in result.stderr
    assert "Running (billed by the hour on AWS): notebook instance mysfits-demo-notebook" in result.stderr  # kept up
    assert "The local cloud bills nothing" in result.stderr
    assert "Bayes-optimal bound" in kept.stdout and "accuracy" in kept.stdout  # evaluated once, when it came up
    assert "Tore the demo stack down" in result.stderr
    status = json.loads(mysfits(local_home, "--local", "--stack", "mysfits-demo", "status", "--json").stdout)
    assert status["resources"] == []

    assert _users_stack(local_home) == users  # its settings, resources, data and outputs, as they were
    assert mysfits(local_home, "--local", "recommend", "1", "2", "3", "4", "5").returncode == 0


def test_local_ignores_the_users_aws_settings_and_keeps_its_state_with_the_cloud(local_home):
    config = local_home / "aws-config"
    config.write_text("[default]\nregion = eu-west-3\n")
    users = {"AWS_PROFILE": "nosuch", "AWS_DEFAULT_PROFILE": "nosuch-either", "AWS_CONFIG_FILE": str(config),
             "AWS_ACCESS_KEY_ID": "AKIAUSERSOWN", "AWS_SECRET_ACCESS_KEY": "users-own"}
    first, second = local_home / "a", local_home / "b"
    first.mkdir(), second.mkdir()
    up = mysfits(local_home, "--local", "up", "api", cwd=first, **users)
    assert up.returncode == 0, up.stderr
    status = mysfits(local_home, "--local", "status", "--json", cwd=second, **users)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["state_file"] == str(local_home / "home" / "state.json")
    assert report["region"] == "us-east-1" and report["target"] == "the local cloud"
    assert {r["kind"] for r in report["resources"]} == {"vpc-link", "rest-api"}
    assert not (first / ".mysfits").exists() and not (second / ".mysfits").exists()

    (second / ".mysfits").mkdir()
    (second / ".mysfits" / "state.json").write_text('{"version": 2, "stacks": {}}')
    elsewhere = mysfits(local_home, "--local", "--stack", "other", "status", cwd=second)
    assert "not in this folder's .mysfits/state.json" in elsewhere.stderr  # a state file of this folder is named
    hinted = mysfits(local_home, "--local", "deploy-endpoint", cwd=second, **users)
    assert hinted.returncode == 1 and "run `mysfits --local train` first" in hinted.stderr

    table = mysfits(local_home, "--local", "status", cwd=second, COLUMNS="80")
    lines = table.stdout.splitlines()
    assert "Mysfits API" in lines and "State file: " + str(local_home / "home" / "state.json") in lines
    assert all(len(line) <= 80 for line in lines if "://" not in line and "State file" not in line), table.stdout
    url = next(line.strip() for line in lines if line.strip().startswith("http://"))
    assert url.endswith("/prod/mysfits")  # a URL on a line of its own, whole


def test_local_stop_ends_the_functions_warm_execution_environments(local_home):
    import io
    import zipfile

    import boto3

    assert mysfits(local_home, "local", "start").returncode == 0
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    url = _cloud(local_home)["url"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = session.client("iam", endpoint_url=url).create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    time.sleep(0.1)  # a new role reaches Lambda after 10 AWS seconds: 2 ms at the default time scale
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "import os\n\ndef handler(event, context):\n    return os.getpid()\n")
    functions = session.client("lambda", endpoint_url=url)
    functions.create_function(FunctionName="pid", Runtime="python3.12", Role=role, Handler="app.handler",
                              Code={"ZipFile": package.getvalue()})
    pid = json.loads(functions.invoke(FunctionName="pid")["Payload"].read())
    assert json.loads(functions.invoke(FunctionName="pid")["Payload"].read()) == pid  # warm: the same process
    os.kill(pid, 0)
    assert mysfits(local_home, "local", "stop").returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the function's execution environment (pid {pid}) outlived `mysfits local stop`")
