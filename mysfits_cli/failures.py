"""One-line descriptions of errors that reach the command line from boto3 and friends."""

from __future__ import annotations

import os
import traceback

import botocore.exceptions as bex


def describe(exc: BaseException) -> str:
    if os.environ.get("MYSFITS_DEBUG"):
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
    text = " ".join(str(exc).split())
    return f"unexpected {type(exc).__name__}: {text} (set MYSFITS_DEBUG=1 to see where)"
