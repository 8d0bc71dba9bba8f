"""The AWS CLI (v1) against the local cloud: the README's lines, and a read of each service the stack uses.

Each `aws` process loads tests.support.shapes as a plugin (its config file's [plugins] section), which
checks every response against the CLI's own botocore models and reports to a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.conftest import readme_block, user_environment
from tests.support.shapes import REPORT_VARIABLE

ROOT = Path(__file__).resolve().parents[2]


class AwsCli:
    def __init__(self, cloud, folder: Path):
        self.folder = folder
        self.report = folder / "shapes.txt"
        config = folder / "aws-config"
        config.write_text("[plugins]\nshapecheck = tests.support.shapes\n")
        self.env = {**user_environment(cloud), "AWS_CONFIG_FILE": str(config), REPORT_VARIABLE: str(self.report),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def script(self, text: str) -> subprocess.CompletedProcess:
        """Run shell lines as a user would type them (`aws` is the test extra's AWS CLI)."""
        result = subprocess.run(["bash", "-ec", text], cwd=self.folder, env=self.env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, f"{text}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"], cwd=self.folder,
                                env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"aws {' '.join(args)}\n{result.stderr}"
        return json.loads(result.stdout or "{}")

    def shapes(self) -> tuple[list[str], list[str]]:
        """(operations checked, problems) so far."""
        lines = self.report.read_text().splitlines() if self.report.exists() else []
        return ([line.split(" ", 1)[1] for line in lines if line.startswith("checked ")],
                [line.split(" ", 1)[1] for line in lines if line.startswith("problem ")])


@pytest.fixture
def aws(cloud, tmp_path):
    return AwsCli(cloud, tmp_path)


def test_the_readmes_aws_cli_lines_run(stack, aws):
    lines = [line for line in readme_block("aws-cli-snippet").splitlines() if not line.startswith("mysfits ")]
    aws.script("\n".join(lines))
    answer = json.loads((aws.folder / "answer.json").read_text())
    assert answer["statusCode"] == 200 and "recommendedMysfit" in json.loads(answer["body"])
    checked, problems = aws.shapes()
    assert problems == []
    assert {"sagemaker.ListEndpoints", "lambda.Invoke", "logs.FilterLogEvents", "iam.GetPolicy"} <= set(checked)


def test_each_service_the_stack_uses_answers_the_cli_in_aws_shapes(stack, aws):
    endpoint = stack.outputs["endpoint_name"]
    job = aws.json("sagemaker", "describe-training-job", "--training-job-name", stack.outputs["training_job"])
    assert job["OutputDataConfig"]["KmsKeyId"] == "" and job["TrainingJobStatus"] == "Completed"
    aws.script(f"aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint} --content-type text/csv "
               "--body 1,2,3,4,5 prediction.json")
    assert "predicted_label" in (aws.folder / "prediction.json").read_text()
    function = aws.json("lambda", "get-function-configuration", "--function-name", "mysfits-recommendations")
    assert function["LastModified"].endswith("+0000")
    assert aws.json("lambda", "invoke", "--function-name", "mysfits-recommendations", "--invocation-type", "DryRun",
                    "dry-run.json")["StatusCode"] == 204
    apis = aws.json("apigateway", "get-rest-apis")["items"]
    aws.json("apigateway", "get-resources", "--rest-api-id", apis[0]["id"])
    aws.json("cognito-idp", "describe-user-pool", "--user-pool-id", stack.outputs["user_pool_id"])
    aws.json("elbv2", "describe-load-balancers", "--names", "mysfits-nlb")
    aws.json("dynamodb", "describe-table", "--table-name", "MysfitsTable")
    aws.json("s3api", "list-objects-v2", "--bucket", "sagemaker-us-east-1-123456789012", "--max-items", "5")
    aws.json("cloudfront", "list-distributions")
    aws.json("sts", "get-caller-identity")
    checked, problems = aws.shapes()
    assert problems == []
    assert {name.split(".")[0] for name in checked} >= {  # IAM and CloudWatch Logs: in the README's lines
        "sagemaker", "sagemaker-runtime", "lambda", "apigateway", "cognito-idp", "elbv2", "dynamodb", "s3",
        "cloudfront", "sts"}
