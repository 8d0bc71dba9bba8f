"""`up notebook`: the SageMaker role and its policy, the notebook instance, the CodeCommit repository."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from mysfits_cli.resources.codecommit import Repository
from mysfits_cli.resources.sagemaker import NotebookInstance
from mysfits_cli.steps.notebook import image_repository_arn, notebook_policy, presigned_jupyter_url
from tests.support.steps import destroy, destroy_keys, up_notebook

ACCOUNT = "123456789012"
# The only statements whose actions AWS offers no resource-level permission for.
RESOURCE_STAR_SIDS = {
    "SageMakerListingHasNoResourceLevelPermission",
    "EcrLoginHasNoResourceLevelPermission",
    "SageMakerMetricsOnly",
}


def _actions(statement) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def _policy(ctx, bucket="sagemaker-us-east-1-123456789012"):
    return notebook_policy(ctx, "mysfits-us-east-1-notebook-role", bucket)


def _statement(policy, sid):
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


def test_policy_has_no_wildcard_action_and_resource_star_only_where_aws_requires_it(ctx):
    policy = _policy(ctx)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert action not in {"*", "*:*"}
            assert not action.endswith(":*") or action == "sagemaker:*"  # the workshop's SageMaker access, narrowed by resource
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert ("*" in resources) == (statement["Sid"] in RESOURCE_STAR_SIDS), statement["Sid"]
    assert _statement(policy, "EcrLoginHasNoResourceLevelPermission")["Action"] == "ecr:GetAuthorizationToken"
    assert _statement(policy, "SageMakerListingHasNoResourceLevelPermission")["Action"] == "sagemaker:List*"
    metrics = _statement(policy, "SageMakerMetricsOnly")
    assert metrics["Action"] == "cloudwatch:PutMetricData"
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_policy_narrows_every_other_statement_to_this_account_region_bucket_and_role(ctx):
    policy = _policy(ctx)
    assert _statement(policy, "SageMakerInThisAccountAndRegion")["Resource"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"
    pull = _statement(policy, "PullTheKnnImage")
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:382416733822:repository/knn"
    assert "ecr:GetAuthorizationToken" not in pull["Action"]
    assert _statement(policy, "SageMakerLogs")["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/*"
    assert _statement(policy, "DataBucket")["Resource"] == "arn:aws:s3:::sagemaker-us-east-1-123456789012"
    assert _statement(policy, "DataObjects")["Resource"] == "arn:aws:s3:::sagemaker-us-east-1-123456789012/*"
    pass_role = _statement(policy, "PassThisRoleToSageMakerOnly")
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/mysfits-us-east-1-notebook-role"
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_policy_keeps_the_workshop_s_capabilities(ctx):
    workshop = {
        "sagemaker:*", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
        "ecr:BatchCheckLayerAvailability", "cloudwatch:PutMetricData", "logs:CreateLogGroup",
        "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents",
        "s3:CreateBucket", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject",
        "s3:DeleteObject", "iam:PassRole",
    }
    granted = {action for statement in _policy(ctx)["Statement"] for action in _actions(statement)}
    assert workshop <= granted


def test_a_given_bucket_replaces_the_default_one(ctx):
    policy = _policy(ctx, bucket="my-data")
    assert _statement(policy, "DataBucket")["Resource"] == "arn:aws:s3:::my-data"
    assert _statement(policy, "DataObjects")["Resource"] == "arn:aws:s3:::my-data/*"


def test_image_repository_arn():
    assert image_repository_arn_for("382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1", "aws") == \
        "arn:aws:ecr:us-east-1:382416733822:repository/knn"
    assert image_repository_arn_for("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/knn:1", "aws-cn") == \
        "arn:aws-cn:ecr:cn-north-1:390948362332:repository/knn"


def image_repository_arn_for(uri: str, partition: str) -> str:
    return image_repository_arn(SimpleNamespace(aws=SimpleNamespace(partition=partition)), uri)


def test_up_notebook_creates_role_instance_and_repository(ctx):
    outputs = up_notebook(ctx, "ml.t2.medium", None)
    sagemaker = ctx.aws.client("sagemaker")
    notebook = sagemaker.describe_notebook_instance(NotebookInstanceName="mysfits-notebook")
    role = ctx.aws.client("iam").get_role(RoleName="mysfits-us-east-1-notebook-role")["Role"]
    assert notebook["NotebookInstanceStatus"] == "InService"
    assert notebook["InstanceType"] == "ml.t2.medium"
    assert notebook["RoleArn"] == role["Arn"]
    tags = sagemaker.list_tags(ResourceArn=notebook["NotebookInstanceArn"])["Tags"]
    assert {"Key": "mysfits:stack", "Value": "mysfits"} in tags
    repository = ctx.aws.client("codecommit").get_repository(repositoryName="mysfits-recommendations")["repositoryMetadata"]
    assert outputs["repository_clone_url_http"] == repository["cloneUrlHttp"]
    assert outputs["repository_clone_url_ssh"] == repository["cloneUrlSsh"]
    assert outputs["notebook_console_url"] == (
        "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/notebook-instances/mysfits-notebook"
    )
    assert ctx.state.outputs["repository_clone_url_http"] == repository["cloneUrlHttp"]
    assert ctx.state.outputs["data_bucket"] == "sagemaker-us-east-1-123456789012"
    kinds = {key: record["kind"] for key, record in ctx.state.resources.items()}
    assert kinds == {
        "sagemaker.role": "iam-role",
        "notebook.instance": "notebook-instance",
        "notebook.repository": "codecommit-repository",
    }


def test_rerun_makes_no_mutating_call(ctx, make_ctx, record_calls):
    up_notebook(ctx, "ml.t2.medium", None)
    again = make_ctx()
    recorder = record_calls(again)
    up_notebook(again, "ml.t2.medium", None)
    assert recorder.mutating == []


def test_a_stopped_notebook_is_started_again(ctx, make_ctx, record_calls):
    up_notebook(ctx, "ml.t2.medium", None)
    ctx.aws.client("sagemaker").stop_notebook_instance(NotebookInstanceName="mysfits-notebook")
    again = make_ctx()
    recorder = record_calls(again)
    up_notebook(again, "ml.t2.medium", None)
    assert recorder.mutating == ["StartNotebookInstance"]
    status = again.aws.client("sagemaker").describe_notebook_instance(NotebookInstanceName="mysfits-notebook")
    assert status["NotebookInstanceStatus"] == "InService"


def test_another_instance_type_is_reported_not_changed(ctx, make_ctx, record_calls, capsys):
    up_notebook(ctx, "ml.t2.medium", None)
    again = make_ctx()
    recorder = record_calls(again)
    up_notebook(again, "ml.t3.large", None)
    assert recorder.mutating == []
    assert "runs on ml.t2.medium, not ml.t3.large" in capsys.readouterr().err


def test_a_notebook_running_as_another_role_is_reported_not_changed(ctx, make_ctx, capsys):
    """A stack that moved off the role an older mysfits shared between regions: its notebook still runs as that one."""
    up_notebook(ctx, "ml.t2.medium", None)
    sagemaker = ctx.aws.client("sagemaker")
    sagemaker.stop_notebook_instance(NotebookInstanceName="mysfits-notebook")
    sagemaker.delete_notebook_instance(NotebookInstanceName="mysfits-notebook")
    older = "arn:aws:iam::123456789012:role/mysfits-notebook-role"
    sagemaker.create_notebook_instance(NotebookInstanceName="mysfits-notebook", InstanceType="ml.t2.medium", RoleArn=older)
    capsys.readouterr()
    up_notebook(make_ctx(), "ml.t2.medium", None)
    assert (f"runs as {older}, not arn:aws:iam::123456789012:role/mysfits-us-east-1-notebook-role; stop it and change "
            "its IAM role") in " ".join(capsys.readouterr().err.split())


def test_teardown_stops_and_deletes_the_notebook_then_repository_and_role(ctx, record_calls):
    up_notebook(ctx, "ml.t2.medium", None)
    recorder = record_calls(ctx)
    assert destroy(ctx) == []
    # the repository and the notebook go side by side; the role they need goes last
    assert sorted(recorder.mutating[:-2]) == ["DeleteNotebookInstance", "DeleteRepository", "StopNotebookInstance"]
    assert recorder.mutating.index("StopNotebookInstance") < recorder.mutating.index("DeleteNotebookInstance")
    assert recorder.mutating[-2:] == ["DeleteRolePolicy", "DeleteRole"]
    assert ctx.state.resources == {}
    assert ctx.aws.client("sagemaker").list_notebook_instances()["NotebookInstances"] == []


def test_teardown_after_a_lost_state_finds_the_stack_s_resources(ctx, make_ctx, tmp_path):
    up_notebook(ctx, "ml.t2.medium", None)
    lost = make_ctx(state_file=tmp_path / "lost.json")
    assert destroy(lost) == []
    for record in ctx.state.resources.values():
        cls = {"iam-role": None, "notebook-instance": NotebookInstance, "codecommit-repository": Repository}[record["kind"]]
        if cls:
            assert cls.status(ctx, record) is None


def test_gone_resources_count_as_deleted_and_have_no_status(ctx):
    up_notebook(ctx, "ml.t2.medium", None)
    notebook, repository = ctx.state.get("notebook.instance"), ctx.state.get("notebook.repository")
    client = ctx.aws.client("sagemaker")
    client.stop_notebook_instance(NotebookInstanceName="mysfits-notebook")
    client.delete_notebook_instance(NotebookInstanceName="mysfits-notebook")
    ctx.aws.client("codecommit").delete_repository(repositoryName="mysfits-recommendations")
    assert NotebookInstance.status(ctx, notebook) is None
    assert Repository.status(ctx, repository) is None
    destroy_keys(ctx, ["notebook.instance", "notebook.repository"])
    assert set(ctx.state.resources) == {"sagemaker.role"}


def test_no_presigned_url_from_an_endpoint_that_cannot_sign_one(ctx, monkeypatch, capsys):
    client = ctx.aws.client("sagemaker")

    def refuse(**_):
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "not here"}}, "CreatePresignedNotebookInstanceUrl")

    monkeypatch.setattr(client, "create_presigned_notebook_instance_url", refuse)
    assert presigned_jupyter_url(ctx, "mysfits-notebook") is None
    assert "cannot sign a Jupyter URL" in capsys.readouterr().err


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_notebook_role_follows_the_region(aws, make_ctx, region):
    ctx = make_ctx(region=region)
    policy = _policy(ctx, bucket=f"sagemaker-{region}-{ACCOUNT}")
    assert _statement(policy, "SageMakerInThisAccountAndRegion")["Resource"] == f"arn:aws:sagemaker:{region}:{ACCOUNT}:*"
    assert _statement(policy, "PullTheKnnImage")["Resource"].startswith(f"arn:aws:ecr:{region}:")
