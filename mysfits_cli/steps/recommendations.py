"""`mysfits up recommendations`: the Lambda microservice over the endpoint and its REST API."""

from __future__ import annotations

from typing import Any

from ..engine import Context, Record
from ..errors import MysfitsError
from ..graph import Run
from ..lambda_package import build_package
from ..render import render_openapi
from ..resources.apigateway import RestApi
from ..resources.awslambda import Function, InvokePermission, LogGroup
from ..resources.iam import Role, stack_role_name
from ..urls import api_base_url

TEMPLATE = "swagger/recommendations-api.json.j2"
ROUTE = "/recommendations"
API_URL_OUTPUT = "recommendations_api_url"


def deployed_endpoint(ctx: Context) -> str:
    name = ctx.state.outputs.get("endpoint_name")
    if not name:
        raise MysfitsError("No SageMaker endpoint is deployed for this stack: run `mysfits deploy-endpoint` first")
    return name


def role_policy(ctx: Context, endpoint_name: str, log_group: str) -> dict[str, Any]:
    """Invoke exactly this endpoint; write only to the function's own log group."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeTheEndpoint",
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": ctx.aws.arn("sagemaker", f"endpoint/{endpoint_name.lower()}"),
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": ctx.aws.arn("logs", f"log-group:{log_group}:*"),
            },
        ],
    }


ROLE_KEY = "recommendations.role"


def role(run: Run) -> Role:
    ctx = run.ctx
    return Role(
        ROLE_KEY, stack_role_name(ctx, ROLE_KEY, "recommendations"), "lambda.amazonaws.com",
        role_policy(ctx, run["endpoint.endpoint"]["name"], log_group_name(ctx)),
        "Lets the recommendations function invoke the k-NN endpoint",
    )


def log_group_name(ctx: Context) -> str:
    return f"/aws/lambda/{ctx.settings.name('recommendations')}"


def log_group(run: Run) -> LogGroup:
    return LogGroup("recommendations.log-group", log_group_name(run.ctx))


def function(run: Run) -> Function:
    return Function(
        "recommendations.function", run.ctx.settings.name("recommendations"),
        role_arn=run["recommendations.role"]["arn"],
        package=build_package(),
        environment={"ENDPOINT_NAME": run["endpoint.endpoint"]["name"]},
        description="Recommends a mysfit from questionnaire answers by invoking the SageMaker k-NN endpoint",
    )


def rest_api(run: Run) -> RestApi:
    ctx = run.ctx
    document = render_openapi(
        TEMPLATE, api_name=ctx.settings.name("recommendations-api"), partition=ctx.aws.partition,
        region=ctx.aws.region, function_arn=run["recommendations.function"]["arn"],
    )
    return RestApi("recommendations.rest-api", ctx.settings.name("recommendations-api"), document)


def permission(run: Run) -> InvokePermission:
    ctx = run.ctx
    return InvokePermission(
        "recommendations.permission", f"{ctx.stack}-apigateway-invoke", run["recommendations.function"]["name"],
        ctx.aws.arn("execute-api", f"{run['recommendations.rest-api']['id']}/*/POST{ROUTE}"),
    )


def publish_url(run: Run, api: Record) -> Record:
    run.ctx.state.set_output(API_URL_OUTPUT, api_base_url(run.ctx, api["id"]))
    return api


def curl_example(url: str) -> str:
    return f"curl -X POST -H 'Content-Type: application/json' -d '{{\"entry\": [1,2,3,4,5]}}' {url}"
