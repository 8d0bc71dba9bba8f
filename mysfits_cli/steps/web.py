"""`mysfits up web`: the site's page, pointing at both live APIs and the user pool, where the site is served."""

from __future__ import annotations

from dataclasses import dataclass

from .. import reference, ui
from ..aws import describe_or_none
from ..engine import KNOWN_AFTER_APPLY, Change, Context, Record, Unknown, ensure, is_pending, preview
from ..errors import MysfitsError
from ..graph import Run
from ..permissions import Permission, allow
from ..render import render
from ..resources.apigateway import management_arn
from ..resources.website import WebPage, site_permissions
from ..site import Site, find_site
from ..urls import STAGE, api_base_url

TEMPLATE = "templates/web/index.html.j2"
CLIENT_NAME = "MysfitsUserPoolClient"
SIGN_IN_OUTPUTS = ("user_pool_id", "user_pool_client_id", "cognito_endpoint_url")
PAGE_KEY = "web.page"
# (name suffix of the REST API, the command that makes it)
_APIS = {"mysfits": ("api", "up api"), "recommendations": ("recommendations-api", "up recommendations")}
_OLD_REGIONS_WITH_DASH = {
    "us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "eu-west-1", "sa-east-1", "us-gov-west-1",
}


@dataclass(frozen=True)
class SignIn:
    """What the page needs to sign visitors in with Cognito."""

    user_pool_id: str
    client_id: str

    @property
    def region(self) -> str:
        return self.user_pool_id.split("_", 1)[0]


def publish(run: Run) -> Record:
    up_web(run.ctx, run.options.site_bucket, run.options.user_pool_client_id)
    return run.ctx.state.get(PAGE_KEY)


def plan(run: Run) -> tuple[Change, Record]:
    """What publishing would do; after APIs that do not exist yet, only that the page will follow them."""
    if any(run[key].get("id") == KNOWN_AFTER_APPLY for key in ("api.rest-api", "recommendations.rest-api")):
        recorded = run.ctx.state.get(PAGE_KEY)
        return Change("update" if recorded else "create", note="once both APIs are up"), Unknown(name="index.html")
    site, page, _ = run.once(PAGE_KEY, lambda r: _wanted(r.ctx, r.options.site_bucket, r.options.user_pool_client_id))
    return preview(run.ctx, WebPage(PAGE_KEY, site, page.encode("utf-8")))


def permissions(run: Run, change: Change) -> list[Permission]:
    """Finding both APIs, the site's bucket and its distribution, then reading and writing the page there.

    When the APIs are not up yet the site is looked up here, as publishing will; if it cannot be
    found, publishing will say so, and only the look-ups are asked about.
    """
    ctx = run.ctx
    needed = allow(["s3:ListAllMyBuckets", "cloudfront:ListDistributions"])
    needed += [p for path in ("/restapis", f"/restapis/*/stages/{STAGE}", "/restapis/*/authorizers")
               for p in allow(["apigateway:GET"], management_arn(ctx, path))]
    wanted = run.built.get(PAGE_KEY)
    try:
        site = wanted[0] if wanted else find_site(ctx, run.options.site_bucket)
    except MysfitsError:
        return needed
    return needed + site_permissions(ctx, site, writes=change.action != "unchanged")


def _wanted(ctx: Context, bucket: str | None, user_pool_client_id: str | None) -> tuple[Site, str, SignIn | None]:
    """Where the page goes, the page for both live APIs and the pool their authorizer trusts, and that pool."""
    api_ids = live_api_ids(ctx)
    site = find_site(ctx, bucket)
    sign_in = find_sign_in(ctx, api_ids["mysfits"], user_pool_client_id)
    return site, render_page(ctx, api_ids, sign_in), sign_in


def up_web(ctx: Context, bucket: str | None, user_pool_client_id: str | None = None) -> str:
    """Publish the page; returns the site's URL."""
    site, page, sign_in = _wanted(ctx, bucket, user_pool_client_id)
    if sign_in is None:
        ui.warn("The page has no sign-in: the Mysfits API has no Cognito authorizer (made with --no-auth), so anyone "
                "may like and adopt; `mysfits up api --auth` then `mysfits up web` put sign-in back")
    recorded = ctx.state.get(PAGE_KEY)
    if recorded and not is_pending(recorded) and (recorded["bucket"], recorded["key"]) != (site.bucket, site.index_key):
        WebPage.delete(ctx, recorded)  # the site moved: put the old one back first
        ctx.state.remove(PAGE_KEY)
    ensure(ctx, WebPage(PAGE_KEY, site, page.encode("utf-8")))
    url = site_url(ctx, site)
    ctx.state.set_output("website_url", url)
    publish_sign_in(ctx, sign_in)
    return url


def publish_sign_in(ctx: Context, sign_in: SignIn | None) -> None:
    """What the page signs in with, as outputs, so that another page can be wired from `status --json` alone."""
    if sign_in is None:  # an API made with --no-auth: no sign-in
        for name in SIGN_IN_OUTPUTS:
            ctx.state.drop_output(name)
        return
    ctx.state.set_output("user_pool_id", sign_in.user_pool_id)
    ctx.state.set_output("user_pool_client_id", sign_in.client_id)
    ctx.state.set_output("cognito_endpoint_url", cognito_endpoint_url(ctx, sign_in.region))


def live_api_ids(ctx: Context) -> dict[str, str]:
    """The ids of this stack's two REST APIs that exist with a deployed stage; an error naming what to run."""
    apigw = ctx.aws.client("apigateway")
    by_name: dict[str, list[str]] = {}
    for page in apigw.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            by_name.setdefault(api["name"], []).append(api["id"])
    found: dict[str, str] = {}
    for role, (suffix, _) in _APIS.items():
        for api_id in by_name.get(ctx.settings.name(suffix), []):
            if describe_or_none(apigw.get_stage, restApiId=api_id, stageName=STAGE) is not None:
                found[role] = api_id
                break
    missing = [f"`mysfits {command}`" for role, (_, command) in _APIS.items() if role not in found]
    if missing:
        raise MysfitsError(f"The page needs both APIs live: run {' and '.join(missing)} first")
    return found


def find_sign_in(ctx: Context, mysfits_api_id: str, wanted_client: str | None) -> SignIn | None:
    """The pool the Mysfits API's Cognito authorizer trusts and its app client; None when like/adopt are open."""
    pool_id = _authorizer_pool(ctx, mysfits_api_id)
    if pool_id is None:
        if wanted_client:
            raise MysfitsError("The Mysfits API has no Cognito authorizer (made with --no-auth): drop --user-pool-client-id")
        return None
    cognito = ctx.aws.client("cognito-idp")
    if wanted_client:
        client = describe_or_none(cognito.describe_user_pool_client, UserPoolId=pool_id, ClientId=wanted_client)
        if client is None:
            raise MysfitsError(f"App client {wanted_client} not found in user pool {pool_id}: check --user-pool-client-id")
        return _usable(SignIn(pool_id, wanted_client), client["UserPoolClient"])
    clients = [c for page in cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60)
               for c in page["UserPoolClients"]]
    chosen = [c for c in clients if c["ClientName"] == CLIENT_NAME] or (clients if len(clients) == 1 else [])
    if len(chosen) != 1:
        what = "no app client" if not clients else f"{len(clients)} app clients and none named {CLIENT_NAME}"
        raise MysfitsError(f"User pool {pool_id} has {what}: pass --user-pool-client-id ID")
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=chosen[0]["ClientId"])["UserPoolClient"]
    return _usable(SignIn(pool_id, client["ClientId"]), client)


def _authorizer_pool(ctx: Context, api_id: str) -> str | None:
    authorizers = ctx.aws.client("apigateway").get_authorizers(restApiId=api_id).get("items", [])
    for authorizer in authorizers:
        if authorizer.get("type") == "COGNITO_USER_POOLS" and authorizer.get("providerARNs"):
            return authorizer["providerARNs"][0].rsplit("/", 1)[-1]
    return None


def _usable(sign_in: SignIn, client: dict) -> SignIn:
    """A browser holds no secret and signs in with SRP: the client must allow exactly that."""
    if client.get("ClientSecret"):
        raise MysfitsError(f"App client {sign_in.client_id} has a client secret, which a web page cannot keep: "
                           "pass --user-pool-client-id with a client without one")
    flows = client.get("ExplicitAuthFlows") or []
    if flows and "ALLOW_USER_SRP_AUTH" not in flows:
        raise MysfitsError(f"App client {sign_in.client_id} does not allow SRP sign-in (ALLOW_USER_SRP_AUTH): "
                           "enable it or pass --user-pool-client-id with another client")
    return sign_in


def render_page(ctx: Context, api_ids: dict[str, str], sign_in: SignIn | None) -> str:
    region = sign_in.region if sign_in else ctx.aws.region
    return render(
        TEMPLATE,
        mysfits_api_url=api_base_url(ctx, api_ids["mysfits"]),
        recommendations_api_url=api_base_url(ctx, api_ids["recommendations"]),
        user_pool_id=sign_in.user_pool_id if sign_in else "",
        user_pool_client_id=sign_in.client_id if sign_in else "",
        region=region,
        cognito_endpoint_url=cognito_endpoint_url(ctx, region),
        confirmation_hint=confirmation_hint(ctx),
        questionnaire=reference.questions(),
        mysfits=reference.mysfits(),
        stack=ctx.stack,
        stack_region=ctx.aws.region,
    )


def cognito_endpoint_url(ctx: Context, region: str) -> str:
    if ctx.settings.endpoint_url:
        return ctx.settings.endpoint_url.rstrip("/") + "/"
    return f"https://cognito-idp.{region}.{ctx.aws.url_suffix}/"


def confirmation_hint(ctx: Context) -> str:
    """Where the confirmation code is when no e-mail is sent (emulators); empty on AWS."""
    if ctx.settings.local:
        from ..local.manager import log_path

        return f"The local cloud sends no e-mail: the code is in its log, {log_path()}."
    if ctx.settings.endpoint_url:
        return "This emulator sends no e-mail: look for the code in its log."
    return ""


def site_url(ctx: Context, site: Site) -> str:
    endpoint = (ctx.settings.endpoint_url or "").rstrip("/")
    if ctx.settings.local:
        from ..local.webhost import site_path

        return endpoint + site_path(site.bucket, site.distribution_id)
    if endpoint:  # another emulator: the object itself
        return f"{endpoint}/{site.bucket}/{site.index_key}"
    if site.distribution_id:
        return f"https://{site.domain}/"
    separator = "-" if site.region in _OLD_REGIONS_WITH_DASH else "."
    return f"http://{site.bucket}.s3-website{separator}{site.region}.{ctx.aws.url_suffix}/"
