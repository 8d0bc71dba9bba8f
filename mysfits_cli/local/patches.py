"""Fixes to moto applied to the local cloud and the test fixtures only.

Each fix makes moto accept what AWS accepts; none changes how the CLI calls AWS.
`apply()` is idempotent and patches moto's classes, so it works both inside
`mock_aws()` and in the local cloud's server process.

moto 5.2 behaviour we leave alone (the data plane copes with it, see dataplane.py):
- `import_rest_api`/`put_rest_api` keep integration types in the case given
  ("mock", "aws_proxy"); the data plane compares them case-insensitively.
- they drop `connectionId`, the security schemes/authorizers and each method's
  authorization type; the data plane finds the NLB by the integration URI's host
  and does no Cognito check.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from moto.apigateway.models import APIGatewayBackend

_MARK = "_mysfits_patch"


def apply() -> None:
    """Apply every fix once; later calls do nothing."""
    _import_mock_integration_without_uri()
    _delete_unknown_rest_api_is_not_found()
    _unimplemented_actions_are_501()


def _import_mock_integration_without_uri() -> None:
    """Let `put_integration` take an integration with no `uri`/`httpMethod`.

    AWS documents a MOCK integration as `{"type": "mock", "requestTemplates": ...}`
    with neither field. moto's `put_rest_api` drops the absent keys before calling
    `APIGatewayBackend.put_integration(..., uri, integration_method, ...)`, whose two
    parameters have no default, so the import dies with a TypeError (HTTP 500 from
    the server). Defaulting both to None is all it needs: moto's own validation
    only requires them for HTTP/AWS integration types.
    """
    original = APIGatewayBackend.put_integration
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def put_integration(
        self: APIGatewayBackend,
        function_id: str,
        resource_id: str,
        method_type: str,
        integration_type: str,
        uri: str | None = None,
        integration_method: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return original(
            self, function_id, resource_id, method_type, integration_type, uri, integration_method, **kwargs
        )

    setattr(put_integration, _MARK, True)
    APIGatewayBackend.put_integration = put_integration  # type: ignore[method-assign]


def _delete_unknown_rest_api_is_not_found() -> None:
    """DeleteRestApi of an API that does not exist answers NotFoundException (404).

    moto 5.2 pops the id from a dict and fails with a KeyError (HTTP 500 from the server);
    AWS answers 404 NotFoundException, as GetRestApi does, which callers treat as "already gone".
    """
    original = APIGatewayBackend.delete_rest_api
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def delete_rest_api(self: APIGatewayBackend, function_id: str) -> Any:
        self.get_rest_api(function_id)  # raises moto's RestAPINotFound, as AWS does
        return original(self, function_id)

    setattr(delete_rest_api, _MARK, True)
    APIGatewayBackend.delete_rest_api = delete_rest_api  # type: ignore[method-assign]


def _unimplemented_actions_are_501() -> None:
    """An operation moto does not implement answers 501 Not Implemented, at once.

    moto raises NotImplementedError, which its server turns into an HTML 500; clients retry a
    500 as a transient AWS failure (eight attempts with backoff: half a minute for nothing).
    501 is what HTTP says for an operation a server does not do, and no client retries it.
    """
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def call_action(self: BaseResponse) -> Any:
        try:
            return original(self)
        except NotImplementedError as error:
            body = json.dumps({"__type": "NotImplemented", "message": f"{error} in the local cloud"})
            return 501, {"status": "501", "x-amzn-ErrorType": "NotImplemented", "Content-Type": "application/json"}, body

    setattr(call_action, _MARK, True)
    BaseResponse.call_action = call_action  # type: ignore[method-assign]
