"""Errors answered the way each AWS service writes them on the wire.

Raised from inside moto's request handling, they reach the client through moto's own
error path (moto answers any werkzeug HTTPException with its status, headers and body).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from werkzeug.exceptions import HTTPException


class AwsError(HTTPException):
    """An error response: HTTP status, the `x-amzn-ErrorType` header and a JSON body."""

    def __init__(self, status: int, error_type: str, body: dict[str, Any], headers: dict[str, str] | None = None,
                 content_type: str = "application/json"):
        super().__init__(description=json.dumps(body))
        self.code = status
        self.error_type = error_type
        self.extra_headers = {"Content-Type": content_type, **(headers or {})}

    def get_headers(self, *_: Any, **__: Any) -> list[tuple[str, str]]:
        return [("x-amzn-ErrorType", self.error_type), *self.extra_headers.items()]

    def get_body(self, *_: Any, **__: Any) -> str:
        return self.description or ""


def api_gateway_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> AwsError:
    """API Gateway's control plane (REST-JSON): `{"message": ...}`."""
    return AwsError(status, error_type, {"message": message}, headers)


def lambda_error(status: int, error_type: str, message: str) -> AwsError:
    """Lambda (REST-JSON): `{"Type": "User", "message": ...}` for errors the caller made."""
    return AwsError(status, error_type, {"Type": "User", "message": message})


def query_protocol_error(status: int, error_type: str, message: str, namespace: str) -> AwsError:
    """Query services (IAM, STS): an XML `ErrorResponse` with the error's Type, Code and Message."""
    from xml.sax.saxutils import escape

    error = AwsError(status, error_type, {}, content_type="text/xml")
    error.description = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{error_type}</Code>'
                         f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
                         "</ErrorResponse>")
    return error


def json_protocol_error(error_type: str, message: str, status: int = 400) -> AwsError:
    """JSON 1.1 services (SageMaker, CodeCommit): `{"__type": ..., "message": ...}`."""
    return AwsError(status, error_type, {"__type": error_type, "message": message},
                    content_type="application/x-amz-json-1.1")
