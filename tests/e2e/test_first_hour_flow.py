"""The first hour as a user meets it, on a local-cloud server: what teardown says, what bills, a new
endpoint, the evaluation's names, and hints that keep the options that brought the user there."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_notebook_bills_teardown_says_what_it_deletes_and_forgets(cli, server):
    up = cli.run("up", "notebook", "--instance-type", "ml.t3.medium", "--no-repository")
    said = " ".join(up.stderr.split())  # the notices wrap at the terminal's width
    # a moto server stands in for AWS: the prices are AWS's, and nothing bills there
    assert "Started (billed by the hour on AWS): notebook instance mysfits-notebook, 1 × ml.t3.medium at $0.05/h" in said
    assert "Together $0.05/h on AWS" in said and "SageMaker on-demand prices of" in said
    assert f"The AWS stand-in at {server.url} bills nothing: these are the prices AWS would charge" in said

    report = cli.status()
    notebook = next(r for r in report["resources"] if r["kind"] == "notebook-instance")
    assert notebook["billing"]["usd_per_hour"] == pytest.approx(0.05) and notebook["billing"]["since"]
    assert report["cost"]["usd_per_hour"] == pytest.approx(0.05) and report["cost"]["billed"] is False
    table = cli.run("status", COLUMNS="80").stdout
    assert "1 × ml.t3.medium, $0.05/h, since" in table and "Cost: $0.05/h for the 1 running SageMaker resource" in table
    assert f"State file: {cli.state_file}" in table

    cli.run("train", "--rows", "5000", "--sample-size", "1000", "--no-logs")
    down = cli.run("teardown", "--yes")
    assert "Teardown deletes" in down.stdout and "in us-east-1, account 123456789012" in down.stdout
    assert "That stops $0.05/h: notebook instance mysfits-notebook (1 × ml.t3.medium at $0.05/h). That is what AWS " \
           f"would charge; the AWS stand-in at {server.url} bills nothing." in " ".join(down.stdout.split())
    assert "Forgot training-job mysfits-knn-" in down.stderr
    assert "completed jobs stay in SageMaker's history (they cannot be deleted, and cost nothing)" in down.stderr
    assert "Deleted notebook-instance mysfits-notebook" in down.stderr and "Deleted iam-role" in down.stderr
    assert "`mysfits --stack mysfits --state-file" not in down.stderr  # the default stack is not repeated
    cli.run("teardown", "--yes", "--purge-data")


def test_hints_keep_the_options_that_brought_the_user_there(cli):
    result = cli.run("deploy-endpoint", check=False)
    assert result.returncode == 1
    assert f"run `mysfits --state-file {cli.state_file} train` first" in result.stderr
    other = cli.run("--stack", "other", "evaluate", check=False)
    assert f"`mysfits --stack other --state-file {cli.state_file} deploy-endpoint`" in other.stderr


@pytest.fixture
def served(cli):
    cli.run("train", "--rows", "20000", "--sample-size", "5000", "--no-logs")
    cli.run("deploy-endpoint", "--no-evaluate")
    cli.run("up", "recommendations")
    yield cli
    cli.run("teardown", "--yes", "--purge-data")


def test_a_new_endpoint_takes_the_recommendations_function_along(served, server):
    cli = served
    old = cli.status()["outputs"]["endpoint_name"]
    sagemaker = server.client("sagemaker")
    sagemaker.delete_endpoint(EndpointName=old)  # gone, and forgotten: the next deploy makes a new one
    state = json.loads(cli.state_file.read_text())
    for section in state["stacks"].values():
        section["resources"].pop("endpoint.endpoint", None)
    cli.state_file.write_text(json.dumps(state))

    deployed = cli.run("deploy-endpoint", "--no-evaluate")
    new = cli.status()["outputs"]["endpoint_name"]
    assert new != old and deployed.stdout.strip().splitlines()[-1] == new
    moved = next(line for line in deployed.stderr.splitlines() if line.startswith("✓ recommendations"))
    assert "updated" in moved and "lambda-function mysfits-recommendations" in moved
    function = server.client("lambda").get_function_configuration(FunctionName="mysfits-recommendations")
    assert function["Environment"]["Variables"]["ENDPOINT_NAME"] == new
    policy = server.client("iam").get_role_policy(RoleName="mysfits-us-east-1-recommendations-role",
                                                   PolicyName=server.client("iam").list_role_policies(
                                                       RoleName="mysfits-us-east-1-recommendations-role")["PolicyNames"][0])
    assert new.lower() in json.dumps(policy["PolicyDocument"])
    assert "the" in cli.run("recommend", "1", "2", "3", "4", "5").stdout  # served through the new endpoint


def test_evaluate_names_what_it_evaluates_and_warns_of_a_newer_split(served):
    cli = served
    outputs = cli.status()["outputs"]
    evaluated = cli.run("evaluate", "--batches", "5")
    assert f"endpoint {outputs['endpoint_name']} (model of training job {outputs['endpoint_training_job']})" in evaluated.stderr
    assert "newer" not in evaluated.stderr and "belongs to training job" not in evaluated.stderr

    cli.run("train", "--rows", "5000", "--sample-size", "1000", "--seed", "7", "--no-logs")
    newer = cli.status()["outputs"]["test_data_job"]
    warned = cli.run("evaluate", "--batches", "5")
    assert f"The test split belongs to training job {newer}, but the endpoint serves " \
           f"{outputs['endpoint_training_job']}'s model" in warned.stderr
    assert f"run `mysfits --state-file {cli.state_file} deploy-endpoint`" in warned.stderr
