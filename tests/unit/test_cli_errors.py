"""What a user sees when something is wrong: one line, non-zero exit, no traceback, no state written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mysfits_cli.cli", *args], capture_output=True, text=True,
        env={k: v for k, v in full_env.items() if v is not None}, cwd=cwd, timeout=60,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_version_and_help_are_fast_and_light():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip().startswith("mysfits ")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, mysfits_cli.cli; print('boto3' in sys.modules, 'numpy' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert probe.stdout.strip() == "False False"


def test_no_credentials(tmp_path):
    env = {k: None for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    result = run("status", env=env)
    assert_one_line_error(result, "No AWS credentials", "AWS_PROFILE", "--local")
    assert not (tmp_path / ".mysfits").exists()


def test_unknown_region():
    assert_one_line_error(run("--region", "mars-north-1", "status"), "Unknown AWS region 'mars-north-1'", "--region")


def test_no_region(tmp_path):
    env = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert_one_line_error(run("status", env=env), "No AWS region", "--region")


def test_unknown_profile(tmp_path):
    env = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    assert_one_line_error(run("--profile", "nobody", "status", env=env), "profile 'nobody' not found")


def test_bad_stack_name():
    assert_one_line_error(run("--stack", "Bad_Name", "status"), "Invalid --stack")


def test_local_and_endpoint_url_conflict():
    assert_one_line_error(run("--local", "--endpoint-url", "http://x", "status"), "--local and --endpoint-url")


def test_unreachable_endpoint():
    result = run("--endpoint-url", "http://127.0.0.1:9", "status")
    assert_one_line_error(result, "Cannot reach http://127.0.0.1:9")


def test_wrong_flag_is_a_usage_error():
    result = run("up", "api", "--nlbx", "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "No such option" in result.stderr


def test_corrupt_state_file_is_named_and_kept(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{broken")
    result = run("--endpoint-url", "http://127.0.0.1:9", "--state-file", str(state), "status")
    assert_one_line_error(result, f"State file {state} cannot be read")
    assert state.read_text() == "{broken"


def test_bad_answers_are_refused_before_any_call():
    result = run("--endpoint-url", "http://127.0.0.1:9", "recommend", "1", "2", "3", "4", "9")
    assert_one_line_error(result, "Answer 5 is 9", "1-8")
    assert_one_line_error(run("recommend", "1", "2"), "exactly 5 answers")


@pytest.mark.parametrize("args", [["teardown"]])
def test_teardown_without_yes_when_not_interactive(args):
    result = subprocess.run(
        [sys.executable, "-m", "mysfits_cli.cli", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )
    assert_one_line_error(result, "--yes")


def test_second_command_on_the_same_state_stops_with_a_message(tmp_path):
    from mysfits_cli.state import locked

    state = tmp_path / "state.json"
    with locked(state):
        result = run("--endpoint-url", "http://127.0.0.1:9", "--state-file", str(state), "status",
                     env={"MYSFITS_LOCK_TIMEOUT": "0.5"})
    assert_one_line_error(result, "Another mysfits command", str(state), "wait for it to finish")
    assert not state.exists()


def test_recommend_asks_the_questionnaire_on_a_terminal():
    from tests.support.terminal import run_in_terminal

    text, code = run_in_terminal(["--endpoint-url", "http://127.0.0.1:9", "recommend"], {**os.environ, "COLUMNS": "120"},
                                 [b"1\n", b"9\n", b"2\n", b"3\n", b"4\n", b"5\n"])
    assert "How old are you?" in text and "Full-Stack Unicorn" in text  # questions with their options
    assert "Please select one of the available options" in text  # 9 was refused and asked again
    assert "What is your favorite color?" in text
    assert "Cannot reach http://127.0.0.1:9" in text  # all five answered, then the call was attempted
    assert code == 1


def test_ctrl_c_ends_the_line_the_terminal_left_and_exits_130(monkeypatch, capsys):
    from mysfits_cli import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", interrupted)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("\n") and "Interrupted" in err and "Traceback" not in err


def test_an_option_of_mysfits_itself_after_the_command_is_moved_before_it():
    result = run("--stack", "dev", "status", "--local", "--json")
    assert_one_line_error(result, "--local is an option of mysfits itself, which goes before the command: "
                                  "`mysfits --stack dev --local status --json`")
    assert result.returncode == 2
    result = run("up", "--only", "train", "--region", "eu-west-1", "--rows", "20000")
    assert_one_line_error(result, "`mysfits --region eu-west-1 up --only train --rows 20000`")


@pytest.mark.parametrize(("part", "command"), [("train", "train"), ("endpoint", "deploy-endpoint")])
def test_a_part_named_after_up_points_to_the_commands_that_bring_it_up(part, command):
    result = run("--local", "up", part)
    assert_one_line_error(result, f"`mysfits --local up --only {part}` brings up that part",
                          f"as does `mysfits --local {command}`")
    assert result.returncode == 2


@pytest.mark.parametrize(("args", "said"), [
    (["train", "--rows", "abc"], "--rows takes a whole number of at least 10, not 'abc'"),
    (["up", "--k", "0"], "--k takes a whole number of at least 1, not 0"),
    (["local", "start", "--time-scale", "fast"], "--time-scale takes a number, not 'fast'"),
    (["recommend", "1", "2", "x", "4", "5"], "A1 A2 A3 A4 A5 are whole numbers, not 'x'"),
])
def test_a_value_of_the_wrong_kind_is_one_line_in_words(args, said):
    result = run(*args)
    assert_one_line_error(result, said)
    assert result.returncode == 2


def test_a_state_file_that_is_a_folder_is_named_and_a_failed_command_leaves_no_lock(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run("--endpoint-url", "http://127.0.0.1:9", "--state-file", str(folder), "up", "api")
    assert_one_line_error(result, f"The state file {folder} is a folder", f"such as {folder / 'state.json'}")
    state = tmp_path / "new" / "state.json"
    result = run("--endpoint-url", "http://127.0.0.1:9", "--state-file", str(state), "up", "api")
    assert_one_line_error(result, "Cannot reach http://127.0.0.1:9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"] and list(folder.iterdir()) == []


@pytest.mark.parametrize(("piped", "said"), [
    ("1 2 3\n4,5\n", "Cannot reach http://127.0.0.1:9"),  # five answers read: then the call is made
    ("", "No answers: give the five answers as arguments"),
    ("1 2 3 4\n", "exactly 5 answers"),
    ("1 2 three 4 5", "Standard input holds 'three', not an answer"),
])
def test_recommend_reads_piped_answers(piped, said):
    result = subprocess.run([sys.executable, "-m", "mysfits_cli.cli", "--endpoint-url", "http://127.0.0.1:9", "recommend"],
                            input=piped, capture_output=True, text=True, timeout=60)
    assert_one_line_error(result, said)
