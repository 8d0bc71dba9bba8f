"""One-line descriptions of errors that reach the command line from boto3 and friends."""

from __future__ import annotations

import contextlib
import os
import traceback
from pathlib import Path
from typing import Iterator

from .errors import MysfitsError


def debugging() -> bool:
    return bool(os.environ.get("MYSFITS_DEBUG"))


def describe(exc: BaseException) -> str:
    """One line for `exc`; with MYSFITS_DEBUG set, the traceback is printed first."""
    import botocore.exceptions as bex

    if debugging():
        traceback.print_exception(exc)
    if isinstance(exc, bex.NoCredentialsError):
        return "No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or use --local"
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        return f"Cannot reach {url}: check --endpoint-url / --region and the network (for the local cloud: `mysfits local status`)"
    if isinstance(exc, bex.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), " ".join(str(error.get("Message", "")).split())
        hint = ""
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = " (the credentials in use lack this permission)"
        elif code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}:
            hint = " (refresh your AWS credentials)"
        return f"AWS refused {exc.operation_name}: {code}: {message}{hint}"
    if isinstance(exc, bex.BotoCoreError):
        return f"AWS client error: {exc}"
    if isinstance(exc, OSError) and exc.filename:
        return f"Cannot use {exc.filename}: {exc.strerror or exc}"
    text = " ".join(str(exc).split())
    where = "" if debugging() else " (set MYSFITS_DEBUG=1 to see where)"
    return f"unexpected {type(exc).__name__}: {text}{where}"


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A failure to write `path` is one line naming it."""
    try:
        yield
    except OSError as exc:
        raise MysfitsError(f"Cannot write {path}: {exc.strerror or exc}") from exc
