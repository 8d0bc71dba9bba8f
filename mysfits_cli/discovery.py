"""Looking up what earlier parts of the workshop built: the backend's NLB and the Cognito user pool (the site: see site.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Context
from .errors import MysfitsError

USER_POOL_NAME = "MysfitsUserPool"


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    dns_name: str


def find_nlb(ctx: Context, wanted: str | None) -> LoadBalancer:
    """The network load balancer named by --nlb (ARN or name), else the one whose name or tags say mysfits."""
    elb = ctx.aws.client("elbv2")
    balancers = [
        lb for page in elb.get_paginator("describe_load_balancers").paginate()
        for lb in page["LoadBalancers"] if lb.get("Type") == "network"
    ]
    if wanted:
        chosen = [lb for lb in balancers if wanted in (lb["LoadBalancerArn"], lb["LoadBalancerName"])]
        if not chosen:
            raise MysfitsError(
                f"No network load balancer '{wanted}' in {ctx.aws.region}: "
                f"pass --nlb with one of: {_names(balancers) or 'none found'}"
            )
        return _lb(chosen[0])
    candidates = [lb for lb in balancers if "mysfits" in lb["LoadBalancerName"].lower()]
    if not candidates and balancers:
        tags = _tags_by_arn(elb, [lb["LoadBalancerArn"] for lb in balancers])
        candidates = [
            lb for lb in balancers
            if any("mysfits" in f"{t['Key']}={t['Value']}".lower() for t in tags.get(lb["LoadBalancerArn"], []))
        ]
    if len(candidates) == 1:
        return _lb(candidates[0])
    if not candidates:
        raise MysfitsError(
            f"No network load balancer of the Mysfits backend found in {ctx.aws.region}: "
            f"deploy the backend first or pass --nlb ARN|NAME (network load balancers here: {_names(balancers) or 'none'})"
        )
    raise MysfitsError(f"Several network load balancers look like the Mysfits backend: {_names(candidates)}; pick one with --nlb")


def _tags_by_arn(elb, arns: list[str]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for start in range(0, len(arns), 20):
        for item in elb.describe_tags(ResourceArns=arns[start:start + 20])["TagDescriptions"]:
            found[item["ResourceArn"]] = item.get("Tags", [])
    return found


def _names(balancers: list[dict]) -> str:
    return ", ".join(lb["LoadBalancerName"] for lb in balancers)


def _lb(raw: dict) -> LoadBalancer:
    return LoadBalancer(arn=raw["LoadBalancerArn"], name=raw["LoadBalancerName"], dns_name=raw["DNSName"])


def find_user_pool(ctx: Context, wanted: str | None) -> str:
    """The Cognito user pool id: --user-pool-id, else the pool named MysfitsUserPool."""
    cognito = ctx.aws.client("cognito-idp")
    if wanted:
        try:
            cognito.describe_user_pool(UserPoolId=wanted)
        except cognito.exceptions.ResourceNotFoundException as exc:
            raise MysfitsError(f"Cognito user pool {wanted} not found in {ctx.aws.region}: check --user-pool-id") from exc
        return wanted
    pools = [
        pool for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60)
        for pool in page["UserPools"] if pool["Name"] == USER_POOL_NAME
    ]
    if not pools:
        raise MysfitsError(
            f"No Cognito user pool named {USER_POOL_NAME} in {ctx.aws.region}: pass --user-pool-id ID, "
            "or --no-auth to publish like/adopt without sign-in"
        )
    if len(pools) > 1:
        raise MysfitsError(
            f"Several user pools are named {USER_POOL_NAME} ({', '.join(p['Id'] for p in pools)}); pick one with --user-pool-id"
        )
    return pools[0]["Id"]
