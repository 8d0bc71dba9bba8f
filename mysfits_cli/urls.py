"""Public URLs of the stack's APIs, on AWS or on an emulator."""

from __future__ import annotations

from .engine import Context

STAGE = "prod"


def api_base_url(ctx: Context, api_id: str) -> str:
    """The stage's base URL (no trailing slash); routes are appended to it."""
    endpoint = ctx.settings.endpoint_url
    if ctx.settings.local:
        return f"{endpoint.rstrip('/')}/execute-api/{api_id}/{STAGE}"
    if endpoint:
        return f"{endpoint.rstrip('/')}/restapis/{api_id}/{STAGE}/_user_request_"
    return f"https://{api_id}.execute-api.{ctx.aws.region}.{ctx.aws.url_suffix}/{STAGE}"


def console_url(ctx: Context, path: str) -> str:
    region = ctx.aws.region
    domain = "console.amazonaws.cn" if ctx.aws.partition == "aws-cn" else "console.aws.amazon.com"
    return f"https://{region}.{domain}/{path}"
