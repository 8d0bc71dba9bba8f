"""The Mysfits REST API: the VPC link to the backend's NLB and the API defined by its OpenAPI document."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..discovery import LoadBalancer, find_nlb, find_user_pool
from ..engine import Change, Context, Record
from ..graph import Run
from ..permissions import Permission, allow
from ..render import render_openapi
from ..resources.apigateway import RestApi, VpcLink
from ..urls import api_base_url

TEMPLATE = "swagger/mysfits-api.json.j2"
API_URL_OUTPUT = "mysfits_api_url"
# How like and adopt are guarded on the stack's API, as it was last made: "cognito" or "none" (--no-auth).
AUTH_OUTPUT = "mysfits_api_auth"


def document_for(api_name: str, partition: str, region: str, account_id: str, nlb_dns: str, vpc_link_id: str,
                 user_pool_id: str | None) -> dict[str, Any]:
    return render_openapi(TEMPLATE, api_name=api_name, nlb_dns=nlb_dns, vpc_link_id=vpc_link_id,
                          user_pool_id=user_pool_id, partition=partition, region=region, account_id=account_id)


def render_document(ctx: Context, nlb_dns: str, vpc_link_id: str, user_pool_id: str | None) -> dict[str, Any]:
    return document_for(ctx.settings.name("api"), ctx.aws.partition, ctx.aws.region, ctx.aws.account_id,
                        nlb_dns, vpc_link_id, user_pool_id)


def backend(run: Run) -> LoadBalancer:
    balancer = find_nlb(run.ctx, run.options.nlb)
    ui.report("found", balancer.name)
    return balancer


def backend_permissions(run: Run, change: Change) -> list[Permission]:
    """Listing the load balancers and their tags: no resource-level permission exists for either."""
    return allow(["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"])


def user_pool_permissions(run: Run, change: Change) -> list[Permission]:
    if run.options.no_auth:
        return []
    if run.options.user_pool_id:
        return allow(["cognito-idp:DescribeUserPool"], run.ctx.aws.arn("cognito-idp", f"userpool/{run.options.user_pool_id}"))
    return allow(["cognito-idp:ListUserPools"])


def user_pool(run: Run) -> str | None:
    """The pool of like/adopt's authorizer, or None without one: --no-auth, or not given and the API was made so."""
    made = run.ctx.state.outputs.get(AUTH_OUTPUT)
    no_auth = run.options.no_auth if run.options.no_auth is not None else made == "none"
    if not run.planning:
        if no_auth:
            kept = "" if run.options.no_auth else " (as the stack's API was made with --no-auth; --auth puts it back)"
            ui.warn(f"Like and adopt are published without the Cognito authorizer{kept}: anyone can call them")
        elif made == "none":
            ui.step("Like and adopt get the Cognito authorizer back (--auth): only signed-in visitors may call them")
    return None if no_auth else find_user_pool(run.ctx, run.options.user_pool_id)


def vpc_link(run: Run) -> VpcLink:
    return VpcLink("api.vpc-link", run.ctx.settings.name("api-vpc-link"), run["backend.nlb"].arn)


def rest_api(run: Run) -> RestApi:
    document = render_document(run.ctx, run["backend.nlb"].dns_name, run["api.vpc-link"]["id"], run["backend.user-pool"])
    return RestApi("api.rest-api", run.ctx.settings.name("api"), document)


def publish_url(run: Run, api: Record) -> Record:
    run.ctx.state.set_output(API_URL_OUTPUT, api_base_url(run.ctx, api["id"]))
    run.ctx.state.set_output(AUTH_OUTPUT, "cognito" if run["backend.user-pool"] else "none")
    return api
