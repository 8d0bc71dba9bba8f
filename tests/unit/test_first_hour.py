"""What a new user meets first, without a cloud: errors, hints, help, the local session, costs and layout."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from tests.unit.test_cli_errors import assert_one_line_error, run

# ---- errors ---------------------------------------------------------------------------------------


def test_local_with_an_unknown_region_fails_before_the_local_cloud_starts(tmp_path):
    home = tmp_path / "home"
    result = run("--local", "--region", "mars-1", "status", env={"MYSFITS_LOCAL_HOME": str(home)})
    assert_one_line_error(result, "Unknown AWS region 'mars-1'", "--region")
    assert not (home / "cloud.json").exists()


@pytest.mark.parametrize("url", ["notaurl", "ftp://host", "http://", "http://host:port"])
def test_endpoint_url_of_the_wrong_form_is_named(url, tmp_path):
    assert_one_line_error(run("--endpoint-url", url, "status"), f"Invalid --endpoint-url '{url}'", "http://localhost:4566")
    assert_one_line_error(run("status", env={"MYSFITS_ENDPOINT_URL": url}), f"Invalid --endpoint-url '{url}'")
    assert not (tmp_path / ".mysfits").exists()


def test_a_file_that_cannot_be_written_is_named(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "x.csv"
    assert_one_line_error(run("data", "generate", "--rows", "10", "--out", str(target)),
                          f"Cannot write {target}: No such file or directory")
    no_aws = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert_one_line_error(run("render", "swagger", "--out", str(target), env=no_aws), f"Cannot write {target}")


@pytest.mark.parametrize("name", ["MYSFITS_POLL_SECONDS", "MYSFITS_LOCK_TIMEOUT"])
def test_a_bad_number_of_seconds_in_the_environment_is_named(name):
    assert_one_line_error(run("--endpoint-url", "http://127.0.0.1:9", "status", env={name: "abc"}),
                          f"{name} must be a number of seconds, not 'abc'")


def test_a_state_file_or_local_home_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    state = blocker / "state.json"
    result = run("--endpoint-url", "http://127.0.0.1:9", "--state-file", str(state), "teardown", "--yes")
    assert_one_line_error(result, f"Cannot use the state file {state}", "--state-file")
    result = run("--local", "status", env={"MYSFITS_LOCAL_HOME": str(blocker / "home")})
    assert_one_line_error(result, f"Cannot use the local cloud's home {blocker / 'home'}", "MYSFITS_LOCAL_HOME")


def test_no_region_suggests_the_local_cloud(tmp_path):
    env = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert_one_line_error(run("status", env=env), "No AWS region set", "--region", "--local")


def test_debug_prints_the_traceback_then_the_one_line_without_the_debug_hint():
    result = run("--endpoint-url", "notaurl", "status", env={"MYSFITS_DEBUG": "1"})
    assert result.returncode == 1 and "Traceback" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: Invalid --endpoint-url") and "MYSFITS_DEBUG" not in result.stderr.split("Error:")[-1]


def test_describe_offers_debug_only_when_it_is_off(monkeypatch, capsys):
    from mysfits_cli.failures import describe

    monkeypatch.delenv("MYSFITS_DEBUG", raising=False)
    assert describe(ValueError("odd")).endswith("(set MYSFITS_DEBUG=1 to see where)")
    monkeypatch.setenv("MYSFITS_DEBUG", "1")
    assert describe(ValueError("odd")) == "unexpected ValueError: odd"
    assert "ValueError: odd" in capsys.readouterr().err


# ---- the local cloud's session ----------------------------------------------------------------------


def test_local_session_ignores_every_profile_and_credential_setting(monkeypatch, tmp_path):
    from mysfits_cli.aws import Aws
    from mysfits_cli.config import Settings

    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-3\n[profile other]\nregion = eu-west-2\n")
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "other")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    aws = Aws(Settings(local=True, region="us-east-1"))
    credentials = aws.session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("testing", "testing")
    assert aws.region == "us-east-1"
    assert aws.session.profile_name != "nosuch"


def test_outside_the_local_cloud_the_environment_profile_still_counts(monkeypatch, tmp_path):
    from mysfits_cli.aws import Aws
    from mysfits_cli.config import Settings
    from mysfits_cli.errors import MysfitsError

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "nosuch")
    with pytest.raises(MysfitsError, match="AWS profile 'nosuch' not found"):
        Aws(Settings(region="us-east-1"))


# ---- hints ----------------------------------------------------------------------------------------


def test_hints_repeat_the_global_options(monkeypatch):
    from mysfits_cli import ui

    monkeypatch.setattr(ui, "_global_options", [("--local",), ("--stack", "dev")])
    text = "run `mysfits deploy-endpoint` first (or `mysfits up`); `mysfits demo --keep`; `mysfits local status`"
    assert ui.with_global_options(text) == (
        "run `mysfits --local --stack dev deploy-endpoint` first (or `mysfits --local --stack dev up`); "
        "`mysfits demo --keep`; `mysfits local status`")  # the demo runs on the local cloud, on a stack of its own
    assert ui.with_global_options("`mysfits --local up` carries on") == "`mysfits --local up` carries on"


def test_the_error_line_repeats_the_global_options_given(tmp_path):
    state = tmp_path / "s.json"
    result = run("--endpoint-url", "http://127.0.0.1:9", "--stack", "dev", "--state-file", str(state),
                 "recommend", "1", "2")
    assert_one_line_error(result, "exactly 5 answers")
    result = run("--stack", "dev", "recommend")
    assert_one_line_error(result, "`mysfits --stack dev recommend 1 2 3 4 5`")


# ---- help -----------------------------------------------------------------------------------------


def _commands():
    import typer

    from mysfits_cli.cli import app

    root = typer.main.get_command(app)
    stack = [((), root)]
    while stack:
        path, command = stack.pop()
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            stack.append(((*path, name), sub))


def test_every_option_has_help_and_help_has_no_type_placeholders():
    for path, command in _commands():
        for param in command.params:
            assert param.help, f"{' '.join(path)} {param.name} has no help"
        result = run(*path, "--help", env={"COLUMNS": "80"})
        assert result.returncode == 0, result.stderr
        for placeholder in ("<bool>", "<str>", "<int", "<list", "<path>", "…"):
            assert placeholder not in result.stdout, f"mysfits {' '.join(path)} --help shows {placeholder}"
        assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout


def test_help_text_escaped_for_rich_markup_reads_plainly():
    from mysfits_cli.commands.help import _Rows

    class Formatter:
        def write_dl(self, rows):
            self.rows = rows

    formatter = Formatter()
    _Rows(formatter).write_dl([("--mode <str>", "strict or lenient \\[env: MODE; default: strict]")])
    assert formatter.rows == [("--mode TEXT", "strict or lenient [env: MODE; default: strict]")]


def test_help_lists_demo_first_and_names_the_region_variables():
    text = run("--help", env={"COLUMNS": "80"}).stdout
    commands = [line.split()[0] for line in text.split("Commands:")[1].splitlines() if line.startswith("  ") and
                not line.startswith("   ")]
    assert commands[:4] == ["demo", "plan", "up", "status"] and commands[-1] == "local"
    assert "AWS_REGION" in text and "AWS_DEFAULT_REGION" in text
    local = run("local", "--help").stdout.split("Commands:")[1]
    assert [line.split()[0] for line in local.splitlines() if line[2:3].isalpha()] == ["start", "stop", "status"]
    assert "--local " in text and "--local <" not in text


# ---- costs ----------------------------------------------------------------------------------------


def _sagemaker_resources(ctx):
    """A notebook instance and an endpoint in moto, as `up` records them."""
    iam, sagemaker = ctx.aws.client("iam"), ctx.aws.client("sagemaker")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sagemaker.create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=role)
    sagemaker.create_model(ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn=role)
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 2, "InstanceType": "ml.c5.large"}])
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
    return [{"kind": "notebook-instance", "id": "nb", "name": "nb"}, {"kind": "endpoint", "id": "e", "name": "e"},
            {"kind": "iam-role", "id": "r", "name": "r"}]


def test_running_sagemaker_resources_are_priced_from_the_table(ctx):
    from mysfits_cli import billing

    records = _sagemaker_resources(ctx)
    bill = billing.bill_for(ctx, records)
    by_kind = {u.kind: u for u in bill.usages}
    assert set(by_kind) == {"notebook-instance", "endpoint"}
    assert by_kind["notebook-instance"].price.usd_per_hour == pytest.approx(0.05)
    assert (by_kind["endpoint"].instance_type, by_kind["endpoint"].count) == ("ml.c5.large", 2)
    assert by_kind["endpoint"].price is None  # not in the shipped table: unknown, not guessed
    assert bill.rate() == "$0.05/h plus 1 price unknown"
    later = by_kind["notebook-instance"].since + timedelta(hours=2)
    assert by_kind["notebook-instance"].cost_so_far(later) == pytest.approx(0.10)
    assert bill.source().startswith("SageMaker on-demand prices of ")


def test_status_report_carries_each_resources_bill_and_the_total(ctx):
    from mysfits_cli.steps.status import collect

    for index, record in enumerate(_sagemaker_resources(ctx)):
        ctx.state.put(["notebook.instance", "endpoint.endpoint", "sagemaker.role"][index], record)
    report = collect(ctx)
    bills = {r["kind"]: r["billing"] for r in report["resources"]}
    assert bills["iam-role"] is None
    assert bills["notebook-instance"]["usd_per_hour"] == pytest.approx(0.05)
    assert bills["notebook-instance"]["instance_type"] == "ml.t3.medium" and bills["notebook-instance"]["since"]
    assert bills["endpoint"]["usd_per_hour"] is None and bills["endpoint"]["instance_count"] == 2
    assert report["cost"]["usd_per_hour"] == pytest.approx(0.05)
    assert report["cost"]["unknown_prices"] == ["endpoint e"] and report["cost"]["billed"] is True


def test_live_prices_are_fetched_only_when_asked_and_cached_beside_the_state(ctx, monkeypatch):
    import boto3
    from botocore.config import Config
    from botocore.stub import Stubber

    from mysfits_cli.steps.status import collect
    from tests.unit.test_pricing import page, product, request

    for index, record in enumerate(_sagemaker_resources(ctx)):
        ctx.state.put(["notebook.instance", "endpoint.endpoint", "sagemaker.role"][index], record)
    client = boto3.client("pricing", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    monkeypatch.setattr(ctx.aws.session, "client", lambda *a, **k: client)
    with Stubber(client) as stubber:
        stubber.add_response("get_products", page(product("ml.t3.medium", "Notebook", "us-east-1", 0.06,
                                                          "USE1-Notebk:ml.t3.medium")),
                             request("us-east-1", "ml.t3.medium", "Notebook"))
        stubber.add_response("get_products", page(product("ml.c5.large", "Hosting", "us-east-1", 0.25,
                                                          "USE1-Host:ml.c5.large")),
                             request("us-east-1", "ml.c5.large", "Hosting"))
        report = collect(ctx, live_prices=True)
        stubber.assert_no_pending_responses()
    assert report["cost"]["usd_per_hour"] == pytest.approx(0.06 + 2 * 0.25)
    assert (ctx.state.path.parent / "prices-live.json").exists()
    assert "AWS Price List API, fetched" in report["cost"]["source"]
    again = collect(ctx)  # no network call: the cache serves
    assert again["cost"]["usd_per_hour"] == pytest.approx(0.56)


def test_live_prices_are_refused_on_the_local_cloud(ctx):
    from dataclasses import replace

    from mysfits_cli import billing
    from mysfits_cli.errors import MysfitsError

    ctx.settings = replace(ctx.settings, local=True)
    with pytest.raises(MysfitsError, match="shipped prices apply"):
        billing.refresh_live(ctx, [], ctx.state.path.parent)


# ---- layout ---------------------------------------------------------------------------------------


def test_rows_keep_names_whole_and_move_a_state_that_does_not_fit():
    from mysfits_cli.layout import Row, rows

    items = [Row("Data", "s3://sagemaker-ap-southeast-2-123456789012/mysfits/train/", "2 objects, 2,640,000 bytes"),
             Row("Job", "mysfits-knn-20261126-085330", "Completed", note="1 × ml.m5.2xlarge, price unknown")]
    lines = [line.plain for line in rows(items, 80)]
    assert "s3://sagemaker-ap-southeast-2-123456789012/mysfits/train/" in lines[0]
    assert lines[1].strip() == "2 objects, 2,640,000 bytes" and lines[1].startswith(" " * 8)
    assert lines[2].split() == ["Job", "mysfits-knn-20261126-085330", "Completed"]
    assert lines[3].strip() == "1 × ml.m5.2xlarge, price unknown"
    assert all(len(line) <= 80 for line in lines)


def test_short_times():
    from mysfits_cli.layout import short_time

    now = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
    assert short_time(datetime(2026, 11, 26, 8, 53, tzinfo=timezone.utc), now) == "08:53 UTC"
    assert short_time(datetime(2026, 3, 2, 8, 53, tzinfo=timezone.utc), now) == "Mar 02 08:53 UTC"
    assert short_time(datetime(2025, 3, 2, 8, 53, tzinfo=timezone.utc), now) == "2025-03-02"


def test_read_only_commands_create_no_state_folder(tmp_path):
    env = {"AWS_REGION": "us-east-1"}
    for args in (["status"], ["plan"], ["recommend", "1", "2", "3", "4", "5"], ["evaluate"], ["render", "swagger"]):
        run("--endpoint-url", "http://127.0.0.1:9", *args, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_importing_the_cli_loads_no_pydantic():
    probe = subprocess.run([sys.executable, "-c", "import sys, mysfits_cli.cli; print('pydantic' in sys.modules)"],
                           capture_output=True, text=True, check=True, env={**os.environ})
    assert probe.stdout.strip() == "False"


def test_a_training_job_bills_only_while_it_runs():
    from types import SimpleNamespace

    from mysfits_cli import billing

    started = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    described = {"TrainingJobStatus": "InProgress", "TrainingStartTime": started,
                 "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}}
    client = SimpleNamespace(describe_training_job=lambda **_: described)
    ctx = SimpleNamespace(aws=SimpleNamespace(client=lambda service: client))
    usage = billing.usage(ctx, {"kind": "training-job", "id": "job", "name": "job"})
    assert (usage.use, usage.instance_type, usage.count, usage.since) == ("training", "ml.m5.xlarge", 2, started)
    [priced] = billing.priced([usage], "us-east-1", None)
    assert priced.price.usd_per_hour == pytest.approx(2 * 0.23)
    assert priced.cost_so_far(started + timedelta(minutes=30)) == pytest.approx(0.23)
    described["TrainingJobStatus"] = "Completed"
    assert billing.usage(ctx, {"kind": "training-job", "id": "job", "name": "job"}) is None


def test_on_a_stand_in_status_marks_the_consoles_and_git_urls_as_aws_only(capsys):
    from mysfits_cli.steps.status import show

    report = {"stack": "mysfits", "region": "us-east-1", "account": "123456789012", "target": "the local cloud",
              "state_file": "state.json", "missing": 0, "unreadable": 0,
              "cost": {"usd_per_hour": 0, "unknown_prices": []},
              "resources": [{"part": "notebook", "title": "Notebook instance", "name": "mysfits-notebook",
                             "id": "mysfits-notebook", "live": "InService", "missing": False, "unreadable": None,
                             "delete_error": None, "billing": None}],
              "outputs": {"notebook_console_url": "https://us-east-1.console.aws.amazon.com/sagemaker/home",
                          "repository_clone_url_http": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/r"}}
    show(report)
    lines = capsys.readouterr().out.splitlines()
    note = lines.index("  On AWS only (the local cloud has no console or Git server of its own):")
    assert lines[note + 1:note + 3] == ["  https://us-east-1.console.aws.amazon.com/sagemaker/home",
                                        "  https://git-codecommit.us-east-1.amazonaws.com/v1/repos/r"]
    show({**report, "target": "AWS"})
    assert "On AWS only" not in capsys.readouterr().out


def test_after_an_interruption_what_still_runs_is_said_where_it_runs(capsys):
    from mysfits_cli.runner import Outcome
    from mysfits_cli.summary import show_next_step

    running = ["training job mysfits-knn-1 (1 × ml.m5.2xlarge): `{up}` follows it again, `{teardown}` stops it"]
    show_next_step(Outcome({}, interrupted=True), "mysfits --local up", running, place="the local cloud")
    err = capsys.readouterr().err
    assert "Still running on the local cloud (nothing bills there): training job mysfits-knn-1 (1 × ml.m5.2xlarge): " \
           "`mysfits --local up` follows it again" in err and "billing" not in err
    assert err.rstrip().splitlines()[-1].endswith("`mysfits --local up` carries on from here")
    show_next_step(Outcome({}, interrupted=True), "mysfits up", running)
    assert "Still running on AWS, and billing: training job" in capsys.readouterr().err


def test_the_last_line_of_a_failure_caused_by_settings_names_the_options_not_the_same_command(capsys):
    from mysfits_cli.graph import Node
    from mysfits_cli.runner import NodeResult, Outcome
    from mysfits_cli.summary import show_next_step

    job = Node("train.job", "Training job", "train", lambda run: None)
    failed = NodeResult(job, "failed", reason="… is Failed: ClientError: …", options=("--k", "--rows", "--data"))
    show_next_step(Outcome({"train.job": failed}), "mysfits up --k 5000")
    assert capsys.readouterr().err.strip() == (
        "! The training job failed on its settings (see above): run `mysfits up --k 5000` again with another --k, "
        "--rows or --data; the parts that did not fail are up")


@pytest.mark.parametrize("endpoint_url, started, until", [
    (None, "Started billing: notebook instance nb", "Together $0.05/h until `mysfits teardown`"),
    ("http://127.0.0.1:4566", "Started (billed by the hour on AWS): notebook instance nb", "Together $0.05/h on AWS"),
])
def test_what_started_billing_is_said_as_it_is_on_aws_and_on_a_stand_in(ctx, capsys, endpoint_url, started, until):
    from dataclasses import replace

    from mysfits_cli.runner import NodeResult, Outcome
    from mysfits_cli.stack import GRAPH
    from mysfits_cli.summary import show_billing

    notebook = _sagemaker_resources(ctx)[0]
    ctx.state.put("notebook.instance", notebook)
    ctx.settings = replace(ctx.settings, endpoint_url=endpoint_url)
    result = NodeResult(GRAPH.node_for("notebook.instance", "notebook-instance"), "done",
                        actions=[("notebook-instance nb", "created")])
    show_billing(ctx, Outcome({"notebook.instance": result}), GRAPH)
    said = " ".join(capsys.readouterr().err.split())
    assert started in said and until in said
    stand_in = "The AWS stand-in at http://127.0.0.1:4566 bills nothing: these are the prices AWS would charge"
    assert (stand_in in said) == (endpoint_url is not None)
