"""`mysfits render swagger`: the Mysfits API's document with every value filled in, creating nothing.

With AWS at hand it fills in the real values that exist (account, NLB, user pool, the stack's
VPC link); whatever is not there yet — or everything, with no AWS access at all — becomes a
placeholder that is named on standard error.
"""

from __future__ import annotations

import json

from ..config import Settings
from ..errors import MysfitsError

PLACEHOLDERS = {
    "region": "<region>",
    "account_id": "<account-id>",
    "nlb_dns": "<nlb-dns-name>",
    "vpc_link_id": "<vpc-link-id>",
    "user_pool_id": "<user-pool-id>",
}


def rendered_swagger(
    settings: Settings, nlb: str | None, user_pool_id: str | None, no_auth: bool, vpc_link_id: str | None
) -> tuple[str, list[str]]:
    """The document as JSON text, and the names of the values left as placeholders."""
    from ..aws import has_aws_access

    given = {"vpc_link_id": vpc_link_id, "user_pool_id": None if no_auth else user_pool_id}
    if has_aws_access(settings):
        values = _live_values(settings, nlb, given, no_auth)
    else:
        if nlb:
            raise MysfitsError("--nlb needs AWS access to find the load balancer's DNS name: set a region and credentials")
        values = {"partition": "aws", **{k: v for k, v in given.items() if v}}
    missing = [name for name in PLACEHOLDERS if not values.get(name) and not (name == "user_pool_id" and no_auth)]
    filled = {**{name: PLACEHOLDERS[name] for name in missing}, **values}
    from .api import document_for

    document = document_for(settings.name("api"), filled["partition"], filled["region"], filled["account_id"],
                            filled["nlb_dns"], filled["vpc_link_id"], None if no_auth else filled["user_pool_id"])
    return json.dumps(document, indent=2), missing


def _live_values(settings: Settings, nlb: str | None, given: dict, no_auth: bool) -> dict:
    from ..discovery import find_nlb, find_user_pool
    from ..resources.apigateway import VpcLink
    from ..runtime import open_stack

    with open_stack(settings, read_only=True) as ctx:
        values = {"partition": ctx.aws.partition, "region": ctx.aws.region, "account_id": ctx.aws.account_id, **given}
        balancer = _found(lambda: find_nlb(ctx, nlb), required=bool(nlb))
        if balancer:
            values["nlb_dns"] = balancer.dns_name
            if not values.get("vpc_link_id"):
                link = VpcLink("api.vpc-link", settings.name("api-vpc-link"), balancer.arn).lookup(
                    ctx, ctx.state.get("api.vpc-link"))
                values["vpc_link_id"] = link["id"] if link else None
        if not no_auth and not values.get("user_pool_id"):
            values["user_pool_id"] = _found(lambda: find_user_pool(ctx, None), required=False)
    return values


def _found(lookup, required: bool):
    """The look-up's answer; a thing that is simply not there yet is a placeholder unless it was asked for by name."""
    try:
        return lookup()
    except MysfitsError:
        if required:
            raise
        return None
