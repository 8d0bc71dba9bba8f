"""`mysfits up web`: the site's index.html, pointing at both APIs, in the website bucket."""

from __future__ import annotations

from .. import reference
from ..discovery import find_website_bucket
from ..engine import KNOWN_AFTER_APPLY, Change, Context, ensure, preview
from ..graph import Run
from ..errors import MysfitsError
from ..render import render
from ..resources.website import WebPage

TEMPLATE = "templates/web/index.html.j2"
_OLD_REGIONS_WITH_DASH = {
    "us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "eu-west-1", "sa-east-1", "us-gov-west-1",
}


def publish(run: Run) -> dict:
    url = up_web(run.ctx, run.options.site_bucket)
    return {"url": url}


def plan(run: Run) -> tuple[Change, dict]:
    ctx = run.ctx
    bucket = find_website_bucket(ctx, run.options.site_bucket)
    change, record = preview(ctx, WebPage("web.page", "index.html", bucket, _page(ctx).encode("utf-8")))
    return change, record


def _page(ctx: Context) -> str:
    outputs = ctx.state.outputs
    return render(
        TEMPLATE,
        mysfits_api_url=outputs.get("mysfits_api_url") or KNOWN_AFTER_APPLY,
        recommendations_api_url=outputs.get("recommendations_api_url") or KNOWN_AFTER_APPLY,
        questionnaire=reference.questions(),
        mysfits=reference.mysfits(),
        stack=ctx.stack,
    )


def up_web(ctx: Context, bucket: str | None) -> str:
    outputs = ctx.state.outputs
    missing = [cmd for key, cmd in (("mysfits_api_url", "up api"), ("recommendations_api_url", "up recommendations"))
               if not outputs.get(key)]
    if missing:
        raise MysfitsError(f"The page needs both APIs: run {' and '.join(f'`mysfits {m}`' for m in missing)} first")
    bucket = find_website_bucket(ctx, bucket)
    ensure(ctx, WebPage("web.page", "index.html", bucket, _page(ctx).encode("utf-8")))
    url = site_url(ctx, bucket)
    ctx.state.set_output("website_url", url)
    return url


def site_url(ctx: Context, bucket: str) -> str:
    if ctx.settings.endpoint_url:
        return f"{ctx.settings.endpoint_url.rstrip('/')}/{bucket}/index.html"
    region = ctx.aws.region
    separator = "-" if region in _OLD_REGIONS_WITH_DASH else "."
    return f"http://{bucket}.s3-website{separator}{region}.{ctx.aws.url_suffix}"
