"""`mysfits up api`: the VPC link to the backend's NLB and the Mysfits REST API."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..discovery import find_nlb, find_user_pool
from ..engine import Context, ensure
from ..render import render_openapi
from ..resources.apigateway import RestApi, VpcLink
from ..urls import api_base_url

TEMPLATE = "swagger/mysfits-api.json.j2"


def render_document(ctx: Context, nlb_dns: str, vpc_link_id: str, user_pool_id: str | None) -> dict[str, Any]:
    return render_openapi(
        TEMPLATE,
        api_name=ctx.settings.name("api"),
        nlb_dns=nlb_dns,
        vpc_link_id=vpc_link_id,
        user_pool_id=user_pool_id,
        partition=ctx.aws.partition,
        region=ctx.aws.region,
        account_id=ctx.aws.account_id,
    )


def resolve_user_pool(ctx: Context, user_pool_id: str | None, no_auth: bool) -> str | None:
    if no_auth:
        ui.warn("--no-auth: like and adopt are published without the Cognito authorizer; anyone can call them")
        return None
    return find_user_pool(ctx, user_pool_id)


def up_api(ctx: Context, nlb: str | None, user_pool_id: str | None, no_auth: bool) -> str:
    balancer = find_nlb(ctx, nlb)
    pool = resolve_user_pool(ctx, user_pool_id, no_auth)
    ui.step(f"Backend load balancer: {balancer.name} ({balancer.dns_name})")
    link = ensure(ctx, VpcLink("api.vpc-link", ctx.settings.name("api-vpc-link"), balancer.arn))
    document = render_document(ctx, balancer.dns_name, link["id"], pool)
    api = ensure(ctx, RestApi("api.rest-api", ctx.settings.name("api"), document))
    base = api_base_url(ctx, api["id"])
    ctx.state.set_output("mysfits_api_url", base)
    return f"{base}/mysfits"
