"""`mysfits render swagger`: the Mysfits API's document with every value filled in, creating nothing."""

from __future__ import annotations

import json

from ..discovery import find_nlb
from ..engine import Context
from ..errors import MysfitsError
from ..resources.apigateway import VpcLink
from .api import render_document, resolve_user_pool


def rendered_swagger(
    ctx: Context, nlb: str | None, user_pool_id: str | None, no_auth: bool, vpc_link_id: str | None
) -> str:
    balancer = find_nlb(ctx, nlb)
    pool = resolve_user_pool(ctx, user_pool_id, no_auth)
    if not vpc_link_id:
        link = VpcLink("api.vpc-link", ctx.settings.name("api-vpc-link"), balancer.arn).lookup(
            ctx, ctx.state.get("api.vpc-link")
        )
        if link is None:
            raise MysfitsError("The stack has no VPC link yet: run `mysfits up api`, or pass --vpc-link-id")
        vpc_link_id = link["id"]
    return json.dumps(render_document(ctx, balancer.dns_name, vpc_link_id, pool), indent=2)
