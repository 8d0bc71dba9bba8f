"""The CodeCommit repository that holds the recommendations service's code."""

from __future__ import annotations

from typing import Any

from ..aws import describe_or_none
from ..engine import Context, Record, Resource


class Repository(Resource):
    kind = "codecommit-repository"
    reads = ("codecommit:GetRepository",)
    creates = ("codecommit:CreateRepository", "codecommit:TagResource")

    def __init__(self, key: str, name: str, description: str):
        super().__init__(key, name)
        self.description = description

    def arn(self, ctx: Context) -> str:
        return ctx.aws.arn("codecommit", self.name)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        return _find(ctx, self.name)

    def create(self, ctx: Context) -> Record:
        metadata = ctx.aws.client("codecommit").create_repository(
            repositoryName=self.name, repositoryDescription=self.description, tags=ctx.settings.tags()
        )["repositoryMetadata"]
        return _record(metadata)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        deleted = ctx.aws.client("codecommit").delete_repository(repositoryName=record["id"])
        # DeleteRepository answers a repository that is not there with no repositoryId, not with an error
        return None if deleted.get("repositoryId") else "{label} was already gone"

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return "AVAILABLE" if _find(ctx, record["id"]) else None

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        # Found by its deterministic name: listing repositories' tags would cost a call per repository.
        found = _find(ctx, ctx.settings.name("recommendations"))
        return [{**found, "kind": cls.kind}] if found else []


def _find(ctx: Context, name: str) -> Record | None:
    found = describe_or_none(ctx.aws.client("codecommit").get_repository, repositoryName=name)
    return None if found is None else _record(found["repositoryMetadata"])


def _record(metadata: dict[str, Any]) -> Record:
    return {
        "id": metadata["repositoryName"],
        "name": metadata["repositoryName"],
        "arn": metadata["Arn"],
        "clone_url_http": metadata["cloneUrlHttp"],
        "clone_url_ssh": metadata["cloneUrlSsh"],
    }
