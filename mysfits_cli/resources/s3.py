"""S3: the data bucket (deleted only if mysfits created it and it is empty) and the data uploaded under a prefix."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any, Callable

from .. import ui
from ..aws import describe_or_none, error_code
from ..engine import Change, Context, Fix, Record, Resource, fix, is_pending
from ..errors import MysfitsError
from ..permissions import Permission, allow


def default_bucket(ctx: Context) -> str:
    """The bucket SageMaker's own SDK uses by default."""
    return f"sagemaker-{ctx.aws.region}-{ctx.aws.account_id}"


PRIVATE = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def bucket_region(ctx: Context, bucket: str) -> str:
    """The region a bucket lives in."""
    location = ctx.aws.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


class Bucket(Resource):
    """A bucket; `created` in its record says mysfits made it (told by the stack tag it carries, or by the intent).

    It must be in the stack's region: SageMaker reads a training job's input only from a bucket in the
    job's own region (API reference, S3DataSource), and so the data of one region's stack never lands
    where the same stack of another region keeps its own.
    """

    kind = "s3-bucket"
    reads = ("s3:ListBucket", "s3:GetBucketTagging")
    creates = ("s3:CreateBucket", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging")
    fixes = {"public access block": ("s3:PutBucketPublicAccessBlock",), "tags": ("s3:PutBucketTagging",)}

    def arn(self, ctx: Context) -> str:
        return bucket_arn(ctx, self.name)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        if not _bucket_exists(ctx, self.name):
            return None
        region = bucket_region(ctx, self.name)
        if region != ctx.aws.region:
            raise MysfitsError(f"Bucket {self.name} is in {region}, and SageMaker trains in {ctx.aws.region} only on "
                               f"data in {ctx.aws.region}: pass --bucket with a bucket in {ctx.aws.region}, or leave "
                               f"--bucket out (then {default_bucket(ctx)})")
        # a pending intent means the bucket did not exist when this stack went to create it
        created = bool(recorded and (recorded.get("created") or is_pending(recorded))) or _carries_stack_tag(ctx, self.name)
        return {"id": self.name, "name": self.name, "created": created}

    def create(self, ctx: Context) -> Record:
        params: dict[str, Any] = {"Bucket": self.name}
        if ctx.aws.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.aws.region}
        ctx.aws.client("s3").create_bucket(**params)
        return {"id": self.name, "name": self.name, "created": True}

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        """A bucket mysfits made is private and tagged; someone else's bucket is used as it is."""
        if not record.get("created"):
            return {}
        client = ctx.aws.client("s3")
        fixes: dict[str, Fix] = {}
        if _public_access_block(ctx, self.name) != PRIVATE:
            fixes["public access block"] = fix(
                client.put_public_access_block, Bucket=self.name, PublicAccessBlockConfiguration=PRIVATE
            )
        tags = bucket_tags(ctx, self.name)
        if not ctx.settings.is_ours(tags):
            kept = [t for t in tags if t["Key"] not in ctx.settings.tags()]
            fixes["tags"] = fix(client.put_bucket_tagging, Bucket=self.name,
                                Tagging={"TagSet": kept + ctx.settings.tag_list()})
        return fixes

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        if not record.get("created"):
            return "Left {label} in place: mysfits did not create it"
        client = ctx.aws.client("s3")
        others = client.list_objects_v2(Bucket=record["id"], MaxKeys=1).get("Contents") or []
        if others:  # another stack's data, or someone's own objects: not this stack's to delete
            return f"Left {{label}} in place: it still holds objects that are not this stack's, such as {others[0]['Key']}"
        client.delete_bucket(Bucket=record["id"])
        return None

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


def bucket_arn(ctx: Context, bucket: str, key: str | None = None) -> str:
    """`arn:aws:s3:::<bucket>`, or of the objects under `key` (`<bucket>/<key>`, which may end in *)."""
    return f"arn:{ctx.aws.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def _public_access_block(ctx: Context, name: str) -> dict[str, bool] | None:
    try:
        return ctx.aws.client("s3").get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except Exception as exc:
        if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise


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
    """Objects under prefixes of a bucket: uploaded from `objects`, or written by SageMaker (`objects` None).

    `source` says what the objects are (the data set and its encoding); `objects()` makes them
    (key under the bucket → bytes) only when they have to be uploaded. Recorded with the ETag of
    each object, so a re-run with the same source whose objects are untouched reads nothing
    and uploads nothing. An upload sends only the objects whose bytes differ (a single-part
    upload's ETag is its MD5; under SSE-KMS it is not, and the object is simply sent again) and
    removes objects under the prefixes that are no longer wanted.
    """

    kind = "s3-data"
    record_fields = ("bucket", "prefixes")

    def __init__(self, key: str, bucket: str, prefixes: list[str],
                 objects: Callable[[], dict[str, bytes]] | None, source: Record | None = None):
        super().__init__(key, f"s3://{bucket}/{prefixes[0]}")
        self.bucket = bucket
        self.prefixes = prefixes
        self.objects = objects
        self.source = source

    def known_fields(self) -> Record:
        return {"id": self.name, "bucket": self.bucket, "prefixes": self.prefixes}

    def _record(self, **extra: Any) -> Record:
        return {"name": self.name, **self.known_fields(), **extra}

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        """Listed to compare, written when made or changed; what SageMaker writes (no `objects`) asks nothing."""
        if self.objects is None:
            return []
        writes = ("s3:PutObject", "s3:DeleteObject") if change.action != "unchanged" else ()
        return allow(["s3:ListBucket"], bucket_arn(ctx, self.bucket)) + [
            permission for prefix in self.prefixes for permission in allow(writes, bucket_arn(ctx, self.bucket, f"{prefix}*"))]

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        known = recorded and not is_pending(recorded)
        if not known and not describe_or_none(_list_all, ctx=ctx, bucket=self.bucket, prefixes=self.prefixes):
            return None
        kept = {k: recorded[k] for k in ("source", "etags") if known and k in recorded}
        return self._record(**kept)

    def create(self, ctx: Context) -> Record:
        return self._record(**self._upload(ctx))

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        if self.objects is None:
            return {}
        live = {item["Key"]: item["ETag"].strip('"') for item in _list_all(ctx, self.bucket, self.prefixes)}
        if record.get("source") == self.source and record.get("etags") == live:
            return {}
        return {"objects": partial(self._upload, ctx, live)}

    def _upload(self, ctx: Context, live: dict[str, str] | None = None) -> Record:
        client = ctx.aws.client("s3")
        live = live or {}
        wanted = self.objects() if self.objects else {}
        etags = {}
        for key, body in wanted.items():
            etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
            if live.get(key) != etag:
                ui.step(f"Uploading {key} ({_size(len(body))}) to bucket {self.bucket}")
                etag = client.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"].strip('"')
            etags[key] = etag
        _delete_keys(ctx, self.bucket, [key for key in live if key not in wanted])
        return {"source": self.source, "etags": etags}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        region = describe_or_none(bucket_region, ctx=ctx, bucket=record["bucket"])
        if region not in (None, ctx.aws.region):  # recorded by an older mysfits: the data of that region's stack
            return (f"Left {{label}} in place: bucket {record['bucket']} is in {region}, where the same prefixes "
                    "hold the data of that region's stack")
        items = describe_or_none(_list_all, ctx=ctx, bucket=record["bucket"], prefixes=record["prefixes"])
        if not items:
            return "{label} was already gone"
        _delete_keys(ctx, record["bucket"], [item["Key"] for item in items])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        items = describe_or_none(_list_all, ctx=ctx, bucket=record["bucket"], prefixes=record["prefixes"])
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
                found.append({**DataPrefix("", bucket, [prefix], None)._record(), "kind": cls.kind})
        return found

    @classmethod
    def identities(cls, record: Record) -> set[str]:
        return {f"s3://{record['bucket']}/{prefix}" for prefix in record["prefixes"]}


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def _list_all(ctx: Context, bucket: str, prefixes: list[str]) -> list[dict[str, Any]]:
    return [item for prefix in prefixes for item in _list(ctx, bucket, prefix)]


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
