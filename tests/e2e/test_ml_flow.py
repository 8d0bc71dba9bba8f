"""up notebook → train → deploy-endpoint (and its evaluation) → status → teardown, as a user runs them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

TAG = {"Key": "mysfits:stack", "Value": "mysfits"}


def _tagged(client, arn: str) -> bool:
    return TAG in client.list_tags(ResourceArn=arn).get("Tags", [])


def test_ml_lifecycle(cli, server):
    notebook = cli.run("up", "notebook")
    assert "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/mysfits-recommendations" in notebook.stdout
    assert "#/notebook-instances/mysfits-notebook" in notebook.stdout

    trained = cli.run("train", "--rows", "20000", "--sample-size", "5000")
    assert "completed" in trained.stdout
    assert "Training job mysfits-knn-" in trained.stderr

    deployed = cli.run("deploy-endpoint")
    endpoint = deployed.stdout.strip().splitlines()[-1]
    assert endpoint.startswith("knn-ml-m4-xlarge-")
    assert "accuracy" in deployed.stdout.lower() and "Bayes" in deployed.stdout
    assert "Evangeline" in deployed.stdout  # the per-mysfit table

    status = cli.status()
    live = {r["kind"]: r["live"] for r in status["resources"]}
    assert live["endpoint"] == "InService" and live["notebook-instance"] == "InService"
    assert live["training-job"] == "Completed"
    assert status["outputs"]["endpoint_name"] == endpoint

    # A newer model replaces the served one in place: same endpoint, the old model and config removed.
    cli.run("train", "--rows", "5000", "--sample-size", "1000", "--seed", "7", "--no-logs")
    redeployed = cli.run("deploy-endpoint", "--no-evaluate")
    assert redeployed.stdout.strip().splitlines()[-1] == endpoint
    assert "Updating endpoint" in redeployed.stderr
    sagemaker = server.client("sagemaker")
    served = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    assert [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]] == [served]
    assert len(sagemaker.list_models()["Models"]) == 1

    down = cli.run("teardown", "--yes", "--purge-data")
    assert "is gone" in down.stdout
    assert cli.status()["resources"] == []

    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
    assert not [e for e in sagemaker.list_endpoints()["Endpoints"] if _tagged(sagemaker, e["EndpointArn"])]
    assert not [c for c in sagemaker.list_endpoint_configs()["EndpointConfigs"] if _tagged(sagemaker, c["EndpointConfigArn"])]
    assert not [m for m in sagemaker.list_models()["Models"] if _tagged(sagemaker, m["ModelArn"])]
    assert not [r for r in server.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("mysfits-")]
    s3 = server.client("s3")
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("sagemaker-")]


def test_train_names_the_bad_line_of_a_data_file(cli, tmp_path):
    data = tmp_path / "answers.csv"
    data.write_text("1,2,3,4,5,0\n1,2,x,4,5,3\n")
    result = cli.run("train", "--data", str(data), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{data} line 2: field 3 is 'x', not an integer" in result.stderr
