"""The site as visitors reach it, served from the local cloud's S3 at a loopback URL.

    /_mysfits/website/<bucket>/<path>           the bucket's S3 static website endpoint
    /_mysfits/cloudfront/<distribution-id>/<path>  the distribution, reading its S3 origin

Only GET and HEAD (HEAD answers exactly like GET, without the body). The website endpoint
answers a folder (`/`, `a/`) with its index document, redirects `a` to `a/` when only
`a/index.html` exists, and answers 404 (the error document if configured). The distribution
answers `/` with its default root object, reads `<origin path>/<path>` from the origin bucket,
and passes S3's 403 through for a missing object, as a private origin behind an origin access
identity does. Objects keep the Content-Type and Cache-Control they were uploaded with.

`patches()` fixes moto's CloudFront invalidation status: moto says COMPLETED, AWS says Completed
(applied by site_emulation.install()).
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

PREFIX = "/_mysfits"  # '_' cannot start a bucket name: nothing of S3's is shadowed
_PATH = re.compile(rf"^{PREFIX}/(?P<kind>website|cloudfront)/(?P<name>[^/]+)(?P<rest>/.*)?$")
_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_PASSED_HEADERS = ("content-type", "cache-control", "content-encoding", "content-language", "content-disposition")


def site_path(bucket: str, distribution_id: str | None) -> str:
    """The local path at which visitors reach the site."""
    if distribution_id:
        return f"{PREFIX}/cloudfront/{distribution_id}/"
    return f"{PREFIX}/website/{bucket}/"


def matches(path: str) -> bool:
    return _PATH.match(path) is not None


def serve(request: Request, account_id: str) -> Response:
    match = _PATH.match(request.path)
    if match is None:
        return _text(404, "Not Found")
    if request.method not in ("GET", "HEAD"):
        return _text(405, "Method Not Allowed", Allow="GET, HEAD")
    rest = (match.group("rest") or "/")[1:]
    if match.group("kind") == "website":
        return _website(account_id, match.group("name"), rest)
    return _cloudfront(account_id, match.group("name"), rest)


def _website(account_id: str, bucket_name: str, path: str, prefix: str = "") -> Response:
    bucket = _bucket(account_id, bucket_name)
    if bucket is None:
        return _text(404, "404 Not Found: NoSuchBucket")
    if not bucket.website_configuration:
        return _text(404, "404 Not Found: NoSuchWebsiteConfiguration")
    config = ElementTree.fromstring(bucket.website_configuration)
    index = config.findtext(f"{_S3}IndexDocument/{_S3}Suffix") or "index.html"
    key = prefix + path
    if key == "" or key.endswith("/"):
        key += index
    found = _object(account_id, bucket_name, key)
    if found is not None:
        return _response(200, found)
    if _object(account_id, bucket_name, f"{key}/{index}") is not None:
        return Response(status=302, headers={"Location": f"{path.rsplit('/', 1)[-1]}/"})
    error_key = config.findtext(f"{_S3}ErrorDocument/{_S3}Key")
    error_page = _object(account_id, bucket_name, prefix + error_key) if error_key else None
    return _response(404, error_page) if error_page is not None else _text(404, "404 Not Found: NoSuchKey")


def _cloudfront(account_id: str, distribution_id: str, path: str) -> Response:
    from moto.cloudfront.models import cloudfront_backends

    distribution = cloudfront_backends[account_id]["aws"].distributions.get(distribution_id)
    if distribution is None:
        return _text(404, "404 Not Found: no such distribution")
    config = distribution.distribution_config
    target = config.DefaultCacheBehavior.target_origin_id
    origin = next(o for o in config.Origins["Items"] if o.id == target)
    bucket_name = origin.domain_name.split(".s3", 1)[0]
    prefix = origin.origin_path.strip("/")
    prefix = f"{prefix}/" if prefix else ""
    if path == "" and config.DefaultRootObject:
        path = config.DefaultRootObject
    if ".s3-website" in origin.domain_name:
        return _website(account_id, bucket_name, path, prefix)
    found = _object(account_id, bucket_name, prefix + path) if path else None
    return _response(200, found) if found is not None else _text(403, "403 Forbidden: AccessDenied")


def _bucket(account_id: str, name: str) -> Any:
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    try:
        return s3_backends[account_id]["aws"].get_bucket(name)
    except MissingBucket:
        return None


def _object(account_id: str, bucket_name: str, key: str) -> Any:
    from moto.s3.models import s3_backends

    if _bucket(account_id, bucket_name) is None:
        return None
    return s3_backends[account_id]["aws"].get_object(bucket_name, key)


def _response(status: int, key: Any) -> Response:
    headers = {name: key.metadata[name] for name in _PASSED_HEADERS if name in key.metadata}
    headers.setdefault("content-type", "binary/octet-stream")
    headers.update({"ETag": key.etag, "Last-Modified": key.last_modified_RFC1123})
    return Response(key.value, status=status, headers=headers)


def _text(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8", headers=headers)


def _invalidation_init(original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.status = "Completed"
    return __init__


def patches() -> list[tuple[type, str, Any]]:
    from moto.cloudfront.models import Invalidation

    return [(Invalidation, "__init__", _invalidation_init)]
