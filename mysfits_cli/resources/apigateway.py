"""API Gateway: the VPC link to the backend's NLB, and REST APIs defined by an OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .. import ui
from ..aws import describe_or_none, error_message, retry_after
from ..engine import CREATING, Change, Context, Fix, Record, Resource
from ..errors import MysfitsError
from ..permissions import Permission, allow

STAGE = "prod"
# DeleteRestApi: 1 request per 30 s per account (API Gateway quotas; cannot be raised)
DELETE_QUOTA_SECONDS = 30.0
DELETE_ATTEMPTS = 4
LINK_RELEASE_SECONDS = 600


def management_arn(ctx: Context, path: str) -> str:
    """API Gateway's management actions are HTTP verbs on paths: `arn:aws:apigateway:<region>::/restapis/<id>`."""
    return ctx.aws.arn("apigateway", path, account=False)


def _verbs(ctx: Context, *calls: tuple[str, str]) -> list[Permission]:
    return [permission for verb, path in calls for permission in allow([f"apigateway:{verb}"], management_arn(ctx, path))]


def _recorded_id(ctx: Context, key: str) -> str:
    """The recorded id, else * (one `plan` would create, or look up by name)."""
    return (ctx.state.get(key) or {}).get("id") or "*"


def _paginate(client, operation: str, key: str, **kwargs) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


class VpcLink(Resource):
    """The VPC link to the backend's NLB. Tagged at creation (the same call), so there is no tag to converge."""

    kind = "vpc-link"
    id_is_name = False

    def __init__(self, key: str, name: str, target_arn: str):
        super().__init__(key, name)
        self.target_arn = target_arn

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        link = _recorded_id(ctx, self.key)
        needed = _verbs(ctx, ("GET", "/vpclinks"), ("GET", f"/vpclinks/{link}"))
        return needed + (_verbs(ctx, ("POST", "/vpclinks")) if change.action in CREATING else [])

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("apigateway")
        live = describe_or_none(client.get_vpc_link, vpcLinkId=recorded["id"]) if recorded and recorded.get("id") else None
        if live is not None:
            return _link_record(live)
        for link in _paginate(client, "get_vpc_links", "items"):
            if link["name"] == self.name and link.get("status") not in {"DELETING", "FAILED"}:
                return _link_record(link)
        return None

    def create(self, ctx: Context) -> Record:
        link = ctx.aws.client("apigateway").create_vpc_link(
            name=self.name,
            description=f"mysfits stack {ctx.stack}: API Gateway to the backend's network load balancer",
            targetArns=[self.target_arn],
            tags=ctx.settings.tags(),
        )
        return _link_record(link)

    def wait(self, ctx: Context, record: Record) -> Record:
        client = ctx.aws.client("apigateway")

        def read() -> tuple[str, str | None]:
            link = client.get_vpc_link(vpcLinkId=record["id"])
            return link.get("status", "AVAILABLE"), link.get("statusMessage")

        ui.wait_for(
            f"VPC link {self.name}", read, ready={"AVAILABLE"}, failed={"FAILED"},
            timeout=900, interval=ctx.settings.poll_seconds,
        )
        return {**record, "status": "AVAILABLE"}

    def replacement(self, ctx: Context, record: Record) -> str | None:
        if record.get("target") and record["target"] != self.target_arn:
            return (f"it targets {record['target']}, not {self.target_arn}, and a VPC link's target cannot change: "
                    "run `mysfits teardown` and `mysfits up api` to move it")
        return None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        client = ctx.aws.client("apigateway")
        deadline = time.monotonic() + LINK_RELEASE_SECONDS
        # API Gateway lets go of a VPC link a while after the last API using it is deleted.
        while True:
            try:
                client.delete_vpc_link(vpcLinkId=record["id"])
                break
            except client.exceptions.BadRequestException as exc:
                users = _apis_using_link(client, record["id"])
                if users:
                    raise MysfitsError(
                        f"VPC link {record.get('name')} is used by REST API {', '.join(users)}: delete that API first"
                    ) from exc
                if time.monotonic() > deadline:
                    raise MysfitsError(f"VPC link {record.get('name')} is still in use: {error_message(exc)}") from exc
                ui.report("in use", "API Gateway has not let go of it yet")
                ui.board.sleep(max(ctx.settings.poll_seconds, 1.0) * 3)
        ui.wait_for(
            f"VPC link {record.get('name')}",
            lambda: (_link_status_or_gone(client, record["id"]), None),
            ready=set(), final={"GONE"}, failed={"FAILED"}, timeout=900, interval=ctx.settings.poll_seconds,
        )
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        status = _link_status_or_gone(ctx.aws.client("apigateway"), record["id"])
        return None if status == "GONE" else status

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        client = ctx.aws.client("apigateway")
        return [
            {**_link_record(link), "kind": cls.kind}
            for link in _paginate(client, "get_vpc_links", "items")
            if link.get("status") != "DELETING"
            and (link["name"] == ctx.settings.name("api-vpc-link") or ctx.settings.is_ours(link.get("tags")))
        ]


def _apis_using_link(client, link_id: str) -> list[str]:
    """The REST APIs (by name) with an integration through this VPC link, as far as API Gateway tells."""
    users = []
    for api in _paginate(client, "get_rest_apis", "items"):
        for resource in _paginate(client, "get_resources", "items", restApiId=api["id"], embed=["methods"]):
            methods = resource.get("resourceMethods") or {}
            if any((m.get("methodIntegration") or {}).get("connectionId") == link_id for m in methods.values()):
                users.append(api["name"])
                break
    return users


def _link_status_or_gone(client, link_id: str) -> str:
    link = describe_or_none(client.get_vpc_link, vpcLinkId=link_id)
    return "GONE" if link is None else link.get("status", "AVAILABLE")


def _link_record(link: dict[str, Any]) -> Record:
    return {
        "id": link["id"],
        "name": link["name"],
        "target": (link.get("targetArns") or [None])[0],
        "status": link.get("status"),
    }


def document_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class RestApi(Resource):
    """A regional REST API whose whole definition is an OpenAPI document, deployed to stage `prod`.

    Created empty with its tags and endpoint type, then defined with put_rest_api (overwrite,
    failOnWarnings) — the same call that updates it in place when the document changes.
    """

    kind = "rest-api"
    id_is_name = False

    def __init__(self, key: str, name: str, document: dict[str, Any]):
        super().__init__(key, name)
        self.document = document
        self.digest = document_sha256(document)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        api = _recorded_id(ctx, self.key)
        calls = [("GET", "/restapis"), ("GET", f"/restapis/{api}"), ("GET", f"/restapis/{api}/stages/{STAGE}")]
        if change.action in CREATING:
            calls += [("POST", "/restapis")]
        if change.action in CREATING or "definition" in change.fields:
            calls += [("PUT", f"/restapis/{api}")]
        if change.action in CREATING or change.fields:
            calls += [("POST", f"/restapis/{api}/deployments")]
        return _verbs(ctx, *calls)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("apigateway")
        if recorded and recorded.get("id") and describe_or_none(client.get_rest_api, restApiId=recorded["id"]):
            return {k: v for k, v in recorded.items() if k in ("id", "name", "document_sha256", "deployment", "stage")}
        matches = [api for api in _paginate(client, "get_rest_apis", "items") if api["name"] == self.name]
        if len(matches) > 1:
            ids = ", ".join(api["id"] for api in matches)
            raise MysfitsError(f"Several REST APIs are named {self.name} ({ids}); delete the extra ones and run again")
        return {"id": matches[0]["id"], "name": self.name} if matches else None

    def create(self, ctx: Context) -> Record:
        api = ctx.aws.client("apigateway").create_rest_api(
            name=self.name,
            description=self.document["info"].get("description", ""),
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=ctx.settings.tags(),
        )
        return {"id": api["id"], "name": self.name}

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        client = ctx.aws.client("apigateway")
        if record.get("document_sha256") != self.digest:
            return {"definition": lambda: self._define(ctx, record)}
        if not _stage_exists(client, record["id"]):
            return {"deployment": lambda: self._deploy(ctx, record)}
        return {}

    def _define(self, ctx: Context, record: Record) -> Record:
        client = ctx.aws.client("apigateway")
        ui.step(f"Defining REST API {self.name} from its OpenAPI document")
        try:
            client.put_rest_api(
                restApiId=record["id"], mode="overwrite", failOnWarnings=True, body=json.dumps(self.document).encode(),
            )
        except client.exceptions.BadRequestException as exc:
            raise MysfitsError(f"API Gateway refused the document for {self.name}: {error_message(exc)}") from exc
        return self._deploy(ctx, record)

    def _deploy(self, ctx: Context, record: Record) -> Record:
        deployment = ctx.aws.client("apigateway").create_deployment(
            restApiId=record["id"], stageName=STAGE, description=f"mysfits {self.digest[:12]}"
        )
        ui.done(f"Deployed {self.name} to stage {STAGE}")
        # Recorded only once deployed, so an interrupted run deploys on the next one.
        return {"document_sha256": self.digest, "deployment": deployment["id"], "stage": STAGE}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """DeleteRestApi is limited to one request every 30 seconds per account: wait out the window when told."""
        client = ctx.aws.client("apigateway", attempts=1)
        for attempt in range(DELETE_ATTEMPTS):
            try:
                client.delete_rest_api(restApiId=record["id"])
                return None
            except client.exceptions.TooManyRequestsException as exc:
                if attempt == DELETE_ATTEMPTS - 1:
                    raise
                ui.countdown(f"rest-api {record.get('name')}", retry_after(exc, DELETE_QUOTA_SECONDS),
                             "DeleteRestApi quota (1 request per 30 s per account)")
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        client = ctx.aws.client("apigateway")
        if describe_or_none(client.get_rest_api, restApiId=record["id"]) is None:
            return None
        return "DEPLOYED" if _stage_exists(client, record["id"]) else "NOT DEPLOYED"

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        names = {ctx.settings.name("api"), ctx.settings.name("recommendations-api")}
        return [
            {"id": api["id"], "name": api["name"], "kind": cls.kind}
            for api in _paginate(ctx.aws.client("apigateway"), "get_rest_apis", "items")
            if api["name"] in names or ctx.settings.is_ours(api.get("tags"))
        ]


def _stage_exists(client, api_id: str) -> bool:
    return describe_or_none(client.get_stage, restApiId=api_id, stageName=STAGE) is not None
