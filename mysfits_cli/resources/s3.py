"""S3: the data bucket (deleted only if mysfits created it and it is empty) and the data uploaded under a prefix."""

from __future__ import annotations

import hashlib
from typing import Any

from .. import ui
from ..aws import describe_or_none, error_code
from ..engine import Context, Record, Resource
from ..errors import MysfitsError


def default_bucket(ctx: Context) -> str:
    """The bucket SageMaker's own SDK uses by default."""
    return f"sagemaker-{ctx.aws.region}-{ctx.aws.account_id}"


class Bucket(Resource):
    """A bucket; `created` in its record says mysfits made it (told by the stack tag it puts on it)."""

    kind = "s3-bucket"

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        if not _bucket_exists(ctx, self.name):
            return None
        created = bool(recorded and recorded.get("created")) or _carries_stack_tag(ctx, self.name)
        return {"id": self.name, "name": self.name, "created": created}

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("s3")
        params: dict[str, Any] = {"Bucket": self.name}
        if ctx.aws.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.aws.region}
        client.create_bucket(**params)
        client.put_public_access_block(
            Bucket=self.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
            },
        )
        client.put_bucket_tagging(
            Bucket=self.name, Tagging={"TagSet": ctx.settings.tag_list()}
        )
        return {"id": self.name, "name": self.name, "created": True}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        if not record.get("created"):
            return  # not ours: forget it, never delete it
        client = ctx.aws.client("s3")
        if client.list_objects_v2(Bucket=record["id"], MaxKeys=1).get("KeyCount", 0):
            ui.warn(f"Kept bucket {record['id']}: it holds objects mysfits did not upload")
            return
        client.delete_bucket(Bucket=record["id"])

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        if not _bucket_exists(ctx, record["id"]):
            return None
        return "created by mysfits" if record.get("created") else "existing bucket, not ours"

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = default_bucket(ctx)
        if _bucket_exists(ctx, name) and _carries_stack_tag(ctx, name):
            return [{"id": name, "name": name, "created": True, "kind": cls.kind}]
        return []


def _bucket_exists(ctx: Context, name: str) -> bool:
    client = ctx.aws.client("s3")
    try:
        client.head_bucket(Bucket=name)
        return True
    except Exception as exc:
        code = error_code(exc)
        if code in {"404", "NoSuchBucket", "NotFound"}:
            return False
        if code in {"403", "AccessDenied"}:
            raise MysfitsError(f"Bucket {name} exists but belongs to another account: pass --bucket with a bucket of yours") from exc
        raise


def bucket_tags(ctx: Context, name: str) -> list[dict[str, str]]:
    try:
        return ctx.aws.client("s3").get_bucket_tagging(Bucket=name)["TagSet"]
    except Exception as exc:
        if error_code(exc) == "NoSuchTagSet":
            return []
        raise


def _carries_stack_tag(ctx: Context, name: str) -> bool:
    return ctx.settings.is_ours(bucket_tags(ctx, name))


class DataPrefix(Resource):
    """Objects under `s3://bucket/prefix`: uploaded from `objects` (name → bytes), or written by SageMaker (None).

    An object is uploaded only when the bytes differ from what is there (its ETag is the
    MD5 of a single-part upload; under SSE-KMS it is not, and the object is simply uploaded again), and objects under the prefix that are no longer wanted are removed.
    """

    kind = "s3-data"

    def __init__(self, key: str, bucket: str, prefix: str, objects: dict[str, bytes] | None):
        super().__init__(key, f"s3://{bucket}/{prefix}")
        self.bucket = bucket
        self.prefix = prefix
        self.objects = objects

    def _record(self) -> Record:
        return {"id": self.name, "name": self.name, "bucket": self.bucket, "prefix": self.prefix}

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        if recorded or _list(ctx, self.bucket, self.prefix) or self.objects is None:
            return self._record()
        return None

    def create(self, ctx: Context) -> Record:
        self._upload(ctx, {})
        return self._record()

    def converge(self, ctx: Context, record: Record) -> Record | None:
        if self.objects is not None:
            live = {item["Key"]: item["ETag"].strip('"') for item in _list(ctx, self.bucket, self.prefix)}
            self._upload(ctx, live)
        return None

    def _upload(self, ctx: Context, live: dict[str, str]) -> None:
        client = ctx.aws.client("s3")
        wanted = {self.prefix + name: body for name, body in (self.objects or {}).items()}
        for key, body in wanted.items():
            if live.get(key) != hashlib.md5(body).hexdigest():
                ui.step(f"Uploading s3://{self.bucket}/{key} ({len(body):,} bytes)")
                client.put_object(Bucket=self.bucket, Key=key, Body=body)
        _delete_keys(ctx, self.bucket, [key for key in live if key not in wanted])

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        items = describe_or_none(_list, ctx=ctx, bucket=record["bucket"], prefix=record["prefix"])
        _delete_keys(ctx, record["bucket"], [item["Key"] for item in items or []])

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        items = describe_or_none(_list, ctx=ctx, bucket=record["bucket"], prefix=record["prefix"])
        if not items:
            return None
        return f"{len(items)} object{'s' if len(items) > 1 else ''}, {sum(i['Size'] for i in items):,} bytes"

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        bucket = default_bucket(ctx)
        if not _bucket_exists(ctx, bucket):
            return []
        found = []
        for prefix in data_prefixes(ctx):
            if _list(ctx, bucket, prefix):
                found.append({**DataPrefix("", bucket, prefix, None)._record(), "kind": cls.kind})
        return found


def data_prefixes(ctx: Context) -> list[str]:
    """Where a stack keeps its training data, test data and model artifacts in the bucket."""
    return [f"{ctx.stack}/{part}/" for part in ("train", "test", "output")]


def _list(ctx: Context, bucket: str, prefix: str) -> list[dict[str, Any]]:
    pages = ctx.aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item for page in pages for item in page.get("Contents", [])]


def _delete_keys(ctx: Context, bucket: str, keys: list[str]) -> None:
    client = ctx.aws.client("s3")
    for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
        batch = keys[start:start + 1000]
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
