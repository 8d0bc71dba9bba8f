"""API Gateway: the VPC link to the backend's NLB, and REST APIs defined by an OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .. import ui
from ..aws import describe_or_none
from ..engine import Context, Record, Resource
from ..errors import MysfitsError

STAGE = "prod"


def _paginate(client, operation: str, key: str, **kwargs) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


class VpcLink(Resource):
    kind = "vpc-link"

    def __init__(self, key: str, name: str, target_arn: str):
        super().__init__(key, name)
        self.target_arn = target_arn

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("apigateway")
        live = describe_or_none(client.get_vpc_link, vpcLinkId=recorded["id"]) if recorded else None
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

    def converge(self, ctx: Context, record: Record) -> Record | None:
        if record.get("target") and record["target"] != self.target_arn:
            ui.warn(
                f"VPC link {self.name} targets {record['target']}, not {self.target_arn}; "
                "a VPC link's target cannot change: run `mysfits teardown` and `mysfits up api` to move it"
            )
        return None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        client = ctx.aws.client("apigateway")
        deadline = time.monotonic() + 600
        # A VPC link stays "in use" for a while after the API that used it is deleted.
        while True:
            try:
                client.delete_vpc_link(vpcLinkId=record["id"])
                break
            except client.exceptions.BadRequestException as exc:
                if time.monotonic() > deadline:
                    raise MysfitsError(f"VPC link {record['id']} is still in use: {exc}") from exc
                time.sleep(max(ctx.settings.poll_seconds, 1.0) * 3)
        ui.wait_for(
            f"VPC link {record.get('name')} deletion",
            lambda: (_link_status_or_gone(client, record["id"]), None),
            ready={"GONE"}, failed={"FAILED"}, timeout=900, interval=ctx.settings.poll_seconds,
        )

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

    def __init__(self, key: str, name: str, document: dict[str, Any]):
        super().__init__(key, name)
        self.document = document
        self.digest = document_sha256(document)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("apigateway")
        if recorded and describe_or_none(client.get_rest_api, restApiId=recorded["id"]) is not None:
            return {**recorded}
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

    def converge(self, ctx: Context, record: Record) -> Record | None:
        client = ctx.aws.client("apigateway")
        changed = record.get("document_sha256") != self.digest
        if not changed and _stage_exists(client, record["id"]):
            return None
        if changed:
            ui.step(f"Defining REST API {self.name} from its OpenAPI document")
            try:
                client.put_rest_api(
                    restApiId=record["id"], mode="overwrite", failOnWarnings=True,
                    body=json.dumps(self.document).encode(),
                )
            except client.exceptions.BadRequestException as exc:
                raise MysfitsError(f"API Gateway refused the document for {self.name}: {exc}") from exc
        deployment = client.create_deployment(
            restApiId=record["id"], stageName=STAGE, description=f"mysfits {self.digest[:12]}"
        )
        ui.done(f"Deployed {self.name} to stage {STAGE}")
        # Recorded only once deployed, so an interrupted run deploys on the next one.
        return {**record, "document_sha256": self.digest, "deployment": deployment["id"], "stage": STAGE}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        ctx.aws.client("apigateway").delete_rest_api(restApiId=record["id"])

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
