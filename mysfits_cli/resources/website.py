"""The site's index.html in the website bucket. The page it replaced is kept and put back on teardown."""

from __future__ import annotations

import hashlib

from ..aws import describe_or_none
from ..engine import Context, Record, Resource

PREVIOUS_SUFFIX = ".before-mysfits"


class WebPage(Resource):
    kind = "web-page"

    def __init__(self, key: str, name: str, bucket: str, body: bytes):
        super().__init__(key, name)
        self.bucket = bucket
        self.body = body
        self.etag = hashlib.md5(body, usedforsecurity=False).hexdigest()

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        if not recorded or recorded.get("bucket") != self.bucket:
            return None  # not ours until we have written it
        live = _etag(ctx, self.bucket, self.name)
        return {**recorded, "etag": live} if live else None

    def create(self, ctx: Context) -> Record:
        s3 = ctx.aws.client("s3")
        previous = _etag(ctx, self.bucket, self.name) is not None
        if previous:
            s3.copy_object(
                Bucket=self.bucket, Key=self.name + PREVIOUS_SUFFIX,
                CopySource={"Bucket": self.bucket, "Key": self.name},
            )
        self._upload(ctx)
        return {"id": f"s3://{self.bucket}/{self.name}", "bucket": self.bucket, "key": self.name,
                "etag": self.etag, "kept_previous": previous}

    def converge(self, ctx: Context, record: Record) -> Record | None:
        if record.get("etag") == self.etag:
            return None
        self._upload(ctx)
        return {**record, "etag": self.etag}

    def _upload(self, ctx: Context) -> None:
        ctx.aws.client("s3").put_object(
            Bucket=self.bucket, Key=self.name, Body=self.body,
            ContentType="text/html; charset=utf-8", CacheControl="no-cache",
        )

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        s3 = ctx.aws.client("s3")
        if record.get("kept_previous"):
            previous = record["key"] + PREVIOUS_SUFFIX
            s3.copy_object(Bucket=record["bucket"], Key=record["key"],
                           CopySource={"Bucket": record["bucket"], "Key": previous})
            s3.delete_object(Bucket=record["bucket"], Key=previous)
            return "Put back the page that was there before {label}"
        s3.delete_object(Bucket=record["bucket"], Key=record["key"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        live = _etag(ctx, record["bucket"], record["key"])
        if live is None:
            return None
        return "CURRENT" if live == record.get("etag") else "CHANGED SINCE UPLOAD"


def _etag(ctx: Context, bucket: str, key: str) -> str | None:
    head = describe_or_none(ctx.aws.client("s3").head_object, Bucket=bucket, Key=key)
    return None if head is None else head["ETag"].strip('"')
