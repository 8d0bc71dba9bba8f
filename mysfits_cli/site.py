"""Finding the site the workshop built: the bucket its pages live in, and how visitors reach them.

Two layouts exist. The python-cdk branch keeps the pages under `web/` in a private bucket that a
CloudFront distribution serves through an origin access identity (`originPath: /web`); the
python branch makes the bucket itself a public S3 static website.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aws import error_code
from .engine import Context
from .errors import MysfitsError
from .resources.s3 import bucket_region, bucket_tags

INDEX = "index.html"


@dataclass(frozen=True)
class Site:
    bucket: str
    region: str  # the bucket's own region
    prefix: str = ""  # where the pages live in the bucket: "" or e.g. "web/"
    distribution_id: str | None = None
    domain: str | None = None  # the distribution's domain name

    @property
    def index_key(self) -> str:
        return f"{self.prefix}{INDEX}"

    @property
    def layout(self) -> str:
        return "cloudfront" if self.distribution_id else "website"


def find_site(ctx: Context, wanted_bucket: str | None) -> Site:
    """The site: its bucket (--bucket, else found by name or tag) and how it is served."""
    return served_site(ctx, find_site_bucket(ctx, wanted_bucket))


def find_site_bucket(ctx: Context, wanted: str | None) -> str:
    """--bucket, else the one bucket whose name (…website… with the stack's name) or stack tag says it is the site."""
    s3 = ctx.aws.client("s3")
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if wanted:
        if wanted not in names:
            raise MysfitsError(f"Bucket {wanted} not found in this account: check --bucket")
        return wanted
    by_name = [n for n in names if "website" in n and ctx.stack in n]
    if len(by_name) == 1:
        return by_name[0]
    by_tag = [n for n in names if "website" in n and ctx.settings.is_ours(_readable_tags(ctx, n))]
    if len(by_tag) == 1:
        return by_tag[0]
    candidates = by_name or by_tag
    if candidates:
        raise MysfitsError(f"Several website buckets found ({', '.join(candidates)}); pick one with --bucket")
    raise MysfitsError(f"No website bucket for stack {ctx.stack} found: pass --bucket NAME")


def served_site(ctx: Context, bucket: str) -> Site:
    """How `bucket` is served: by a CloudFront distribution (preferred), else as an S3 website."""
    region = bucket_region(ctx, bucket)
    distributions = _distributions_of(ctx, bucket)
    if len(distributions) > 1:
        ids = ", ".join(d["Id"] for d in distributions)
        raise MysfitsError(f"Several CloudFront distributions serve bucket {bucket} ({ids}); keep one and run this again")
    if distributions:
        distribution = distributions[0]
        origin = _default_origin(distribution)
        prefix = origin.get("OriginPath", "").strip("/")
        return Site(bucket, region, f"{prefix}/" if prefix else "", distribution["Id"], distribution["DomainName"])
    if not _is_website(ctx, bucket):
        raise MysfitsError(
            f"Bucket {bucket} is served neither by CloudFront nor as an S3 static website: "
            "deploy the workshop's site first, or pass --bucket with the site's bucket"
        )
    return Site(bucket, region)


def _is_website(ctx: Context, bucket: str) -> bool:
    try:
        ctx.aws.client("s3").get_bucket_website(Bucket=bucket)
    except Exception as exc:
        if error_code(exc) == "NoSuchWebsiteConfiguration":
            return False
        raise
    return True


def _distributions_of(ctx: Context, bucket: str) -> list[dict[str, Any]]:
    """Distributions whose default behaviour's origin is the bucket (REST or website endpoint)."""
    cloudfront = ctx.aws.client("cloudfront")
    found = []
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for distribution in page.get("DistributionList", {}).get("Items", []):
            origin = _default_origin(distribution)
            if origin and origin["DomainName"].split(".s3", 1)[0] == bucket:
                found.append(distribution)
    enabled = [d for d in found if d.get("Enabled", True)]
    return enabled or found


def _default_origin(distribution: dict[str, Any]) -> dict[str, Any]:
    target = distribution.get("DefaultCacheBehavior", {}).get("TargetOriginId")
    origins = distribution.get("Origins", {}).get("Items", [])
    return next((o for o in origins if o["Id"] == target), origins[0] if origins else {})


def _readable_tags(ctx: Context, name: str) -> list[dict[str, str]]:
    try:
        return bucket_tags(ctx, name)
    except Exception as exc:
        if error_code(exc):  # access denied, another partition's bucket…: not one we can call ours
            return []
        raise
