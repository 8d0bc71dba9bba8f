"""A new AWS account, as the strict local cloud plays it: `plan` forecasts what AWS would refuse (quotas,
permissions) and `up` refuses it before anything bills; at create time a refusal is one line, and the re-run
converges. The CLI as a user runs it, against one server for the module."""

from __future__ import annotations

import json
import re

import pytest

from mysfits_cli.local import seed
from tests.support.cloud import start_server

pytestmark = pytest.mark.e2e

ROWS = ("--rows", "2000")
# within a new account's quotas: ml.t2.medium notebooks (the default), ml.m5.xlarge training, ml.t2.medium endpoints
WITHIN = ("--training-instance-type", "ml.m5.xlarge", "--endpoint-instance-type", "ml.t2.medium")
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def server():
    with start_server(account="new") as handle:
        yield handle


def quota_codes(server) -> dict[str, str]:
    pages = server.client("service-quotas").get_paginator("list_service_quotas").paginate(ServiceCode="sagemaker")
    return {quota["QuotaName"]: quota["QuotaCode"] for page in pages for quota in page["Quotas"]}


def user_keys(server, name: str, denied: list[str]) -> dict[str, str]:
    """The environment of a local IAM user that may do everything but `denied`."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="all-but", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": denied, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_SESSION_TOKEN": ""}


def stack_jobs(server, stack: str) -> list[dict]:
    return [job for job in server.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
            if job["TrainingJobName"].startswith(f"{stack}-knn-")]


def test_plan_names_the_quotas_and_up_refuses_before_any_training_job(cli, server):
    codes = quota_codes(server)
    plan = cli.run("plan", *ROWS).stdout
    assert "Forecast: what AWS would refuse, checked before anything is created" in plan
    assert "✓ ml.t2.medium for notebook instance usage" in plan
    training, endpoint = "ml.m5.2xlarge for training job usage", "ml.m4.xlarge for endpoint usage"
    assert f"✗ {training} ({codes[training]}): needs 1, 0 in use, applied 0: run `aws service-quotas " in plan
    assert (f"`aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code {codes[endpoint]} "
            f"--desired-value 1 --region us-east-1 --endpoint-url {server.url}`") in " ".join(plan.split())
    assert "such as ml.t2.medium" in plan and "such as ml.m5.xlarge" in plan

    refused = cli.run("up", *ROWS, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert len(re.findall(r"^✗ ml\.\S+ for \w[\w ]+ usage \(L-", refused.stderr, flags=re.M)) == 2
    assert "AWS would refuse these 2 things (above): nothing was created" in refused.stderr
    train = cli.run("train", *ROWS, check=False)  # a part's own command runs its part of the forecast
    assert train.returncode == 1 and f"✗ {training} (" in train.stderr and "AWS would refuse this (above)" in train.stderr
    sagemaker = server.client("sagemaker")
    assert not stack_jobs(server, "mysfits") and not sagemaker.list_notebook_instances()["NotebookInstances"]
    assert not cli.state_file.exists() or not json.loads(cli.state_file.read_text())["stacks"]


def test_up_within_quota_completes_and_a_second_stack_counts_its_usage(cli, server):
    cli.stack = "first"
    first = cli.run("up", *ROWS, *WITHIN, "--site-bucket", seed.bucket_name())
    assert all(re.search(rf"✓ {part}\s+created", first.stderr) for part in ("notebook", "train", "endpoint", "web"))

    cli.stack = "second"
    forecast = json.loads(cli.run("plan", "--json", *ROWS, *WITHIN).stdout)["forecast"]
    quotas = {q["name"]: q for q in forecast["quotas"]}
    notebook, endpoint = quotas["ml.t2.medium for notebook instance usage"], quotas["ml.t2.medium for endpoint usage"]
    assert (notebook["in_use"], notebook["applied"], notebook["ok"], notebook["instead"]) == (1, 1, False, "ml.t3.medium")
    assert (endpoint["in_use"], endpoint["ok"], endpoint["instead"]) == (1, False, "ml.t3.medium")
    assert "--desired-value 2" in endpoint["request"] and forecast["blocking"]
    assert quotas["ml.m5.xlarge for training job usage"]["ok"]  # the first stack's job is done: it runs no more


def test_unreadable_quotas_and_simulator_block_nothing_a_refusal_at_create_is_one_line_and_the_rerun_converges(
        cli, server):
    cli.stack = "blind"
    blind = user_keys(server, "blind", ["servicequotas:*", "iam:SimulatePrincipalPolicy"])
    plan = cli.run("plan", "--only", "train", *ROWS, **blind).stdout
    assert "! Could not check the SageMaker quotas: AWS refused ListServiceQuotas: AccessDeniedException" in plan
    assert "! Could not check the permissions with IAM's policy simulator: AWS refused SimulatePrincipalPolicy: " \
           "AccessDenied" in plan

    failed = cli.run("up", "--only", "train", *ROWS, check=False, **blind)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "Could not check the SageMaker quotas" in failed.stderr and "Going on" in failed.stderr
    assert re.search(r"✗ train\s+Training job: AWS refused CreateTrainingJob: ml\.m5\.2xlarge for training job usage is "
                     r"0, 0 in use, and this needs 1 more: raise it to 1 in Service Quotas", failed.stderr)
    assert not stack_jobs(server, "blind")

    quotas = server.client("service-quotas")  # the account's administrator raises it
    quotas.request_service_quota_increase(ServiceCode="sagemaker", DesiredValue=1,
                                          QuotaCode=quota_codes(server)["ml.m5.2xlarge for training job usage"])
    done = cli.run("up", "--only", "train", *ROWS, **blind)
    assert re.search(r"✓ train\s+created training-job blind-knn-", done.stderr)
    [job] = stack_jobs(server, "blind")
    assert job["TrainingJobStatus"] == "Completed"


def test_a_denied_action_is_named_by_plan_and_stops_up(cli, server):
    cli.stack = "denied"
    denied = user_keys(server, "no-endpoints", ["sagemaker:CreateEndpoint"])
    # types with room beside the first stack's: the denied action is the only thing AWS would refuse
    within = ("--only", "train,endpoint", "--training-instance-type", "ml.m5.xlarge",
              "--endpoint-instance-type", "ml.t3.medium")
    expected = f"✗ sagemaker:CreateEndpoint on arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint"
    plan = cli.run("plan", *ROWS, *within, **denied).stdout
    assert expected in plan and f"is not allowed for arn:aws:iam::{ACCOUNT}:user/no-endpoints (explicitDeny)" in plan

    refused = cli.run("up", *ROWS, *within, check=False, **denied)
    assert refused.returncode == 1 and expected in refused.stderr
    assert "AWS would refuse this (above): nothing was created" in refused.stderr
    assert not stack_jobs(server, "denied")
