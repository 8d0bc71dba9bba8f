"""The site's index.html, written where the site is served from; the page it replaced is kept and put back.

The visitor's page is never lost. A page is ours when it carries the mysfits marker with this
stack's name and region (the state is not asked: it may be lost, or a run may have been killed
between the upload and saving the state; only a page of an older mysfits, which did not say its
region, is ours when the state records it). The site serves every region: the page of another
stack or region is left as it is, never overwritten, adopted or put back.
- before the first upload, a page that is not a mysfits page is copied to
  `<key>.before-mysfits`, once: an existing backup is never overwritten;
- our page found at the key is adopted, so a re-run converges instead of backing it up;
- delete puts the backup back, or removes our page; a page that is no longer ours stays.
CloudFront caches the page, so every write is followed by an invalidation, waited for.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from .. import ui
from ..aws import describe_or_none, error_code
from ..engine import CREATING, Change, Context, Record, Resource
from ..errors import MysfitsError
from ..permissions import Permission, allow
from ..site import Site, find_site
from .s3 import bucket_arn

BACKUP_SUFFIX = ".before-mysfits"
# Where CloudFront serves the page from: its own name, and the root (the default root object).
INVALIDATED_PATHS = ["/index.html", "/"]
INVALIDATION_TIMEOUT_SECONDS = 30 * 60
_HEAD_BYTES = 8192  # the marker is in <head>
_GENERATOR = re.compile(rb'<meta\s+name="generator"\s+content="mysfits"\s*/?>')
_STACK = re.compile(rb'<meta\s+name="mysfits:stack"\s+content="([^"]*)"\s*/?>')
_REGION = re.compile(rb'<meta\s+name="mysfits:region"\s+content="([^"]*)"\s*/?>')


def page_stack(head: bytes) -> str | None:
    """The stack a mysfits page was published by, from its marker; None for any other page."""
    if not _GENERATOR.search(head):
        return None
    stack = _STACK.search(head)
    return stack.group(1).decode("utf-8", "replace") if stack else ""


def page_region(head: bytes) -> str | None:
    """The region of the stack that published a mysfits page; None where the page does not say."""
    region = _REGION.search(head) if _GENERATOR.search(head) else None
    return region.group(1).decode("utf-8", "replace") if region else None


@dataclass(frozen=True)
class LivePage:
    stack: str | None  # None: not a mysfits page
    sha256: str
    region: str | None = None  # None: not said (a page of an older mysfits)

    def is_ours(self, ctx: Context, recorded: bool) -> bool:
        """This stack's page in this region; one that does not say its region only if the state records it."""
        return self.stack == ctx.stack and (self.region == ctx.aws.region or (self.region is None and recorded))

    def is_anothers(self, ctx: Context, recorded: bool) -> bool:
        """A mysfits page of another stack, or of this stack in another region."""
        return self.stack is not None and not self.is_ours(ctx, recorded)

    @property
    def publisher(self) -> str:
        return f"stack {self.stack}" + (f" in {self.region}" if self.region else " (of an older mysfits)")


class WebPage(Resource):
    kind = "web-page"
    record_fields = ("bucket", "key")

    def __init__(self, key: str, site: Site, body: bytes):
        super().__init__(key, site.index_key)
        self.site = site
        self.body = body
        self.sha256 = hashlib.sha256(body).hexdigest()

    def known_fields(self) -> Record:
        return {"id": f"s3://{self.site.bucket}/{self.name}", "bucket": self.site.bucket, "key": self.name,
                "distribution_id": self.site.distribution_id}

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        return site_permissions(ctx, self.site, writes=change.action in CREATING or change.action == "update")

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        live = _live(ctx, self.site.bucket, self.name)
        if live is None or live.stack is None:
            return None
        if live.is_anothers(ctx, recorded is not None):
            raise MysfitsError(
                f"The site's page s3://{self.site.bucket}/{self.name} is published by {live.publisher}, and mysfits "
                "leaves it as it is: publish this stack's page on another site (--site-bucket), or tear that stack "
                "down first")
        return self._record(ctx, live.sha256)

    def create(self, ctx: Context) -> Record:
        live = _live(ctx, self.site.bucket, self.name)
        backup = self.name + BACKUP_SUFFIX
        if live is not None and live.stack is None and not _exists(ctx, self.site.bucket, backup):
            ui.step(f"Keeping the site's own page as s3://{self.site.bucket}/{backup}")
            _copy(ctx, self.site.bucket, self.name, backup)
        self._upload(ctx)
        return self._record(ctx, self.sha256)

    def converge(self, ctx: Context, record: Record) -> Record | None:
        if record.get("sha256") == self.sha256:
            return None
        self._upload(ctx)
        return self._record(ctx, self.sha256)

    def _upload(self, ctx: Context) -> None:
        ctx.aws.client("s3").put_object(
            Bucket=self.site.bucket, Key=self.name, Body=self.body,
            ContentType="text/html; charset=utf-8", CacheControl="no-cache",
            Metadata={"sha256": self.sha256},
        )
        invalidate(ctx, self.site.distribution_id)

    def _record(self, ctx: Context, sha256: str) -> Record:
        return {**self.known_fields(), "sha256": sha256,
                "kept_previous": _exists(ctx, self.site.bucket, self.name + BACKUP_SUFFIX)}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        bucket, key = record["bucket"], record["key"]
        backup = key + BACKUP_SUFFIX
        live = _live(ctx, bucket, key)
        has_backup = _exists(ctx, bucket, backup)
        if live is not None and live.stack is None and has_backup and _etag(ctx, bucket, key) == _etag(ctx, bucket, backup):
            ctx.aws.client("s3").delete_object(Bucket=bucket, Key=backup)  # put back before a kill: finish it
            invalidate(ctx, record.get("distribution_id"))
            return "Put the site's own page back in place of {label}"
        if live is not None and not live.is_ours(ctx, recorded=True):
            kept = f"; the page before mysfits is still in {backup}" if has_backup else ""
            return f"Left {{label}} as it is: it is no longer this stack's page{kept}"
        s3 = ctx.aws.client("s3")
        outcome = None
        if has_backup:
            _copy(ctx, bucket, backup, key)
            s3.delete_object(Bucket=bucket, Key=backup)
            outcome = "Put the site's own page back in place of {label}"
        elif live is not None:
            s3.delete_object(Bucket=bucket, Key=key)
        invalidate(ctx, record.get("distribution_id"))
        return outcome

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        live = _live(ctx, record["bucket"], record["key"])
        if live is None:
            return None
        current = live.is_ours(ctx, recorded=True) and live.sha256 == record.get("sha256")
        return "CURRENT" if current else "CHANGED SINCE UPLOAD"

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        """This stack's page on the site, found by its marker (for a teardown without a state file)."""
        try:
            site = find_site(ctx, None)
            live = _live(ctx, site.bucket, site.index_key)
        except MysfitsError:
            return []  # no site: no page of ours on it
        except Exception as exc:
            if not error_code(exc):
                raise
            ui.warn(f"Could not look for this stack's page on the site ({error_code(exc)})")
            return []
        if live is None or not live.is_ours(ctx, recorded=False):
            return []
        page = cls("web.index", site, b"")
        return [{**page._record(ctx, live.sha256), "kind": cls.kind, "name": page.name}]


def other_publisher(ctx: Context, site: Site, recorded: bool) -> str | None:
    """Who published the page the site shows, when it is the mysfits page of another stack or region; else None."""
    live = _live(ctx, site.bucket, site.index_key)
    return live.publisher if live is not None and live.is_anothers(ctx, recorded) else None


def site_permissions(ctx: Context, site: Site, writes: bool) -> list[Permission]:
    """Reading the page (and the copy kept of the site's own), and writing it and invalidating CloudFront's copy."""
    objects = [bucket_arn(ctx, site.bucket, key) for key in (site.index_key, site.index_key + BACKUP_SUFFIX)]
    needed = allow(["s3:GetBucketLocation", *([] if site.distribution_id else ["s3:GetBucketWebsite"])],
                   bucket_arn(ctx, site.bucket))
    needed += [p for arn in objects for p in allow(["s3:GetObject", *(["s3:PutObject"] if writes else [])], arn)]
    if writes and site.distribution_id:
        distribution = ctx.aws.arn("cloudfront", f"distribution/{site.distribution_id}", region=False)
        needed += allow(["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"], distribution)
    return needed


def invalidate(ctx: Context, distribution_id: str | None) -> None:
    """Drop the cached page from CloudFront's edges and wait until that is done."""
    if not distribution_id:
        return
    cloudfront = ctx.aws.client("cloudfront")
    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": len(INVALIDATED_PATHS), "Items": INVALIDATED_PATHS},
                           "CallerReference": f"mysfits-{uuid.uuid4().hex}"},
    )["Invalidation"]

    def read_status() -> tuple[str, str | None]:
        answer = cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation["Id"])
        return answer["Invalidation"]["Status"], None

    ui.wait_for(f"CloudFront {distribution_id}: invalidation of {', '.join(INVALIDATED_PATHS)}", read_status,
                ready={"Completed"}, timeout=INVALIDATION_TIMEOUT_SECONDS, interval=ctx.settings.poll_seconds)


def _live(ctx: Context, bucket: str, key: str) -> LivePage | None:
    try:
        answer = describe_or_none(ctx.aws.client("s3").get_object, Bucket=bucket, Key=key,
                                  Range=f"bytes=0-{_HEAD_BYTES - 1}")
    except Exception as exc:
        if error_code(exc) == "InvalidRange":  # an empty object: not a mysfits page
            return LivePage(None, "")
        raise
    if answer is None:
        return None
    head = answer["Body"].read()
    return LivePage(page_stack(head), answer.get("Metadata", {}).get("sha256", ""), page_region(head))


def _exists(ctx: Context, bucket: str, key: str) -> bool:
    return _etag(ctx, bucket, key) is not None


def _etag(ctx: Context, bucket: str, key: str) -> str | None:
    """The object's ETag (a copy keeps it), or None when there is no such object."""
    head = describe_or_none(ctx.aws.client("s3").head_object, Bucket=bucket, Key=key)
    return None if head is None else head["ETag"]


def _copy(ctx: Context, bucket: str, source: str, target: str) -> None:
    ctx.aws.client("s3").copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
