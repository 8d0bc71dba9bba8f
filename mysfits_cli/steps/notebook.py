"""`mysfits up notebook`: the role SageMaker assumes, the notebook instance, and the CodeCommit repository."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..aws import error_code, error_message
from ..engine import Context, Record, ensure
from ..graph import Run
from ..instance_choice import check_instance_type, instance_type_for
from ..options import UpOptions
from ..resources.codecommit import Repository
from ..resources.iam import Role, stack_role_name
from ..resources.s3 import default_bucket
from ..resources.sagemaker import NotebookInstance
from ..urls import console_url

SAGEMAKER = "sagemaker.amazonaws.com"
ROLE_KEY = "sagemaker.role"
REPOSITORY_KEY = "notebook.repository"
INSTANCE_KEY = "notebook.instance"
DEFAULT_NOTEBOOK_TYPE = "ml.t2.medium"
INSTANCE_TYPE_FLAG = "--instance-type (on `up`: --notebook-instance-type)"
# The data bucket the role may use, remembered so that `up notebook` and `train` agree on it.
BUCKET_OUTPUT = "data_bucket"


def data_bucket(ctx: Context, bucket: str | None) -> str:
    return bucket or ctx.state.outputs.get(BUCKET_OUTPUT) or default_bucket(ctx)


def image_repository_arn(ctx: Context, image_uri: str) -> str:
    """`<account>.dkr.ecr.<region>.<domain>/<repository>:<tag>` → the repository's ARN."""
    host, _, path = image_uri.partition("/")
    account, _, _, region = host.split(".")[:4]
    repository = path.split(":")[0].split("@")[0]
    return f"arn:{ctx.aws.partition}:ecr:{region}:{account}:repository/{repository}"


def notebook_policy(ctx: Context, role_name: str, bucket: str) -> dict[str, Any]:
    """What the workshop's notebook role may do, each action narrowed to the resources it needs.

    Three statements keep Resource "*" because AWS offers no resource-level permission for those
    actions (Service Authorization Reference): ecr:GetAuthorizationToken, cloudwatch:PutMetricData
    (narrowed by its namespace condition instead) and SageMaker's List* actions, which the notebook
    uses. The other SageMaker actions without resource-level permission (Search, the lineage and
    resource-policy actions, ...) are not granted: the workshop's notebook uses none of them.
    """
    from ..ml.images import knn_image_uri

    partition, region, account = ctx.aws.partition, ctx.aws.region, ctx.aws.account_id
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SageMakerInThisAccountAndRegion",
                "Effect": "Allow",
                "Action": "sagemaker:*",
                "Resource": f"arn:{partition}:sagemaker:{region}:{account}:*",
            },
            {
                "Sid": "SageMakerListingHasNoResourceLevelPermission",
                "Effect": "Allow",
                "Action": "sagemaker:List*",
                "Resource": "*",
            },
            {
                "Sid": "EcrLoginHasNoResourceLevelPermission",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullTheKnnImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": image_repository_arn(ctx, knn_image_uri(region)),
            },
            {
                "Sid": "SageMakerMetricsOnly",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            },
            {
                "Sid": "SageMakerLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
                    "logs:PutLogEvents", "logs:GetLogEvents",
                ],
                "Resource": f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*",
            },
            {
                "Sid": "DataBucket",
                "Effect": "Allow",
                "Action": ["s3:CreateBucket", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "DataObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{bucket_arn}/*",
            },
            {
                "Sid": "PassThisRoleToSageMakerOnly",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:{partition}:iam::{account}:role/{role_name}",
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER}},
            },
        ],
    }


def sagemaker_role(run: Run) -> Role:
    """The role notebooks, training jobs and models run as (shared by the notebook, training and endpoint parts)."""
    ctx = run.ctx
    bucket = data_bucket(ctx, run.options.bucket)
    if not run.planning:
        ctx.state.set_output(BUCKET_OUTPUT, bucket)
    name = stack_role_name(ctx, ROLE_KEY, "notebook")
    return Role(ROLE_KEY, name, SAGEMAKER, notebook_policy(ctx, name, bucket),
                f"mysfits stack {ctx.stack}: SageMaker notebook, training jobs and models")


def repository(run: Run) -> Repository:
    ctx = run.ctx
    return Repository(REPOSITORY_KEY, ctx.settings.name("recommendations"),
                      f"mysfits stack {ctx.stack}: the recommendations service's code")


def ensure_repository(run: Run) -> Record | None:
    """The repository, or None with a warning when CodeCommit is closed to this account: it is optional."""
    try:
        record = ensure(run.ctx, repository(run))
    except Exception as exc:
        if error_code(exc) != "OperationNotAllowedException":
            raise
        ui.warn(f"No CodeCommit repository: {error_message(exc)} Use another Git host for the service's code, "
                "or pass --no-repository to stop asking")
        return None
    for key, value in (("repository_clone_url_http", record["clone_url_http"]),
                       ("repository_clone_url_ssh", record["clone_url_ssh"])):
        run.ctx.state.set_output(key, value)
    return record


def _instance_type_choice(ctx: Context, options: UpOptions) -> tuple:
    recorded = ctx.state.get(INSTANCE_KEY) or {}
    return (ctx, "notebook", options.notebook_instance_type, recorded.get("instance_type"), DEFAULT_NOTEBOOK_TYPE,
            INSTANCE_TYPE_FLAG)


def check_notebook(ctx: Context, options: UpOptions) -> None:
    check_instance_type(*_instance_type_choice(ctx, options))


def notebook_instance(run: Run) -> NotebookInstance:
    ctx = run.ctx
    instance_type = instance_type_for(*_instance_type_choice(ctx, run.options))
    return NotebookInstance(INSTANCE_KEY, ctx.settings.name("notebook"), run["sagemaker.role"]["arn"], instance_type)


def bills(run: Run) -> tuple[str, str, int]:
    return "notebook", instance_type_for(*_instance_type_choice(run.ctx, run.options)), 1


def publish_notebook(run: Run, notebook: Record) -> Record:
    ctx = run.ctx
    name = notebook["name"]
    ctx.state.set_output("notebook_console_url",
                         console_url(ctx, f"sagemaker/home?region={ctx.aws.region}#/notebook-instances/{name}"))
    if notebook.get("url"):
        ctx.state.set_output("notebook_url", f"https://{notebook['url']}")
    return notebook


def presigned_jupyter_url(ctx: Context, name: str) -> str | None:
    """A sign-in link to Jupyter (valid for a few minutes, so never stored), or None when the endpoint cannot make one."""
    client = ctx.aws.client("sagemaker")
    try:
        return client.create_presigned_notebook_instance_url(
            NotebookInstanceName=name, SessionExpirationDurationInSeconds=1800
        )["AuthorizedUrl"]
    except client.exceptions.ClientError as exc:
        ui.warn(f"This endpoint cannot sign a Jupyter URL ({exc.response['Error'].get('Code')}); use the console URL")
        return None
