"""`mysfits up recommendations`: the Lambda microservice over the endpoint and its REST API."""

from __future__ import annotations

from functools import partial
from typing import Any

from .. import ui
from ..engine import Context, ensure
from ..errors import MysfitsError
from ..lambda_package import build_package
from ..render import render_openapi
from ..resources.apigateway import RestApi
from ..resources.awslambda import Function, InvokePermission, LogGroup
from ..resources.iam import Role, retry_until_role_usable, settling_error
from ..urls import api_base_url

TEMPLATE = "swagger/recommendations-api.json.j2"
ROUTE = "/recommendations"
_ROLE_NOT_READY = settling_error("InvalidParameterValueException", "cannot be assumed", "role defined for the function")


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


def up_recommendations(ctx: Context) -> str:
    endpoint = deployed_endpoint(ctx)
    function_name = ctx.settings.name("recommendations")
    log_group = f"/aws/lambda/{function_name}"
    role = ensure(ctx, Role(
        "recommendations.role", ctx.settings.name("recommendations-role"), "lambda.amazonaws.com",
        role_policy(ctx, endpoint, log_group), "Lets the recommendations function invoke the k-NN endpoint",
    ))
    ensure(ctx, LogGroup("recommendations.log-group", log_group))
    function = ensure(ctx, Function(
        "recommendations.function", function_name,
        role_arn=role["arn"],
        package=build_package(),
        environment={"ENDPOINT_NAME": endpoint},
        description="Recommends a mysfit from questionnaire answers by invoking the SageMaker k-NN endpoint",
        create_retry=partial(retry_until_role_usable, is_settling_error=_ROLE_NOT_READY),
    ))
    document = render_openapi(
        TEMPLATE, api_name=ctx.settings.name("recommendations-api"), partition=ctx.aws.partition,
        region=ctx.aws.region, function_arn=function["arn"],
    )
    api = ensure(ctx, RestApi("recommendations.rest-api", ctx.settings.name("recommendations-api"), document))
    ensure(ctx, InvokePermission(
        "recommendations.permission", f"{ctx.stack}-apigateway-invoke", function_name,
        ctx.aws.arn("execute-api", f"{api['id']}/*/POST{ROUTE}"),
    ))
    base = api_base_url(ctx, api["id"])
    ctx.state.set_output("recommendations_api_url", base)
    ui.done(f"Recommendations API serves endpoint {endpoint}")
    return f"{base}{ROUTE}"


def curl_example(url: str) -> str:
    return f"curl -X POST -H 'Content-Type: application/json' -d '{{\"entry\": [1,2,3,4,5]}}' {url}"
