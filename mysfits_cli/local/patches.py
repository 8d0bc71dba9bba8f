"""Fixes to moto applied to the local cloud and the test fixtures only.

Each fix makes moto accept or keep what AWS accepts or keeps; none changes how the CLI
calls AWS. `apply()` is idempotent and patches moto's classes, so it works both inside
`mock_aws()` and in the local cloud's server process; the fixes stay for the life of
the process.

moto 5.2 behaviour we leave alone (the data plane copes with it, see dataplane.py):
- `import_rest_api`/`put_rest_api` keep integration types in the case given
  ("mock", "aws_proxy"); the data plane compares them case-insensitively.
- they drop the security schemes/authorizers and each method's authorization type;
  the data plane does no Cognito check.
"""

from __future__ import annotations

import functools
import json
import warnings
from typing import Any

from moto.apigateway.models import APIGatewayBackend, Integration
from moto.apigateway.responses import APIGatewayResponse
from moto.sagemaker.models import FakeEndpointConfig

from .. import instance_types
from .patching import Patches

_FIXES = Patches("fixes")


def apply() -> None:
    """Apply every fix once; later calls do nothing."""
    _FIXES.install(_put_integration_as_aws_takes_it, _keep_vpc_link_of_integrations, _accept_t3_production_variants,
                   _delete_unknown_rest_api_is_not_found, _delete_unknown_vpc_link_is_not_found,
                   _unimplemented_actions_are_501, _request_ids_are_uuids)


def _put_integration_as_aws_takes_it() -> None:
    """Let `put_integration` take an integration with no `uri`/`httpMethod`, and a `connectionId`.

    AWS documents a MOCK integration as `{"type": "mock", "requestTemplates": ...}`
    with neither field. moto's `put_rest_api` drops the absent keys before calling
    `APIGatewayBackend.put_integration(..., uri, integration_method, ...)`, whose two
    parameters have no default, so the import dies with a TypeError (HTTP 500 from
    the server). Defaulting both to None is all it needs: moto's own validation
    only requires them for HTTP/AWS integration types. The same method is handed the
    integration's `connection_id` (see `_keep_vpc_link_of_integrations`), which moto's
    signature lacks; it is kept on the integration.
    """

    def put_integration(
        original,
        backend: APIGatewayBackend,
        function_id: str,
        resource_id: str,
        method_type: str,
        integration_type: str,
        uri: str | None = None,
        integration_method: str | None = None,
        connection_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        integration = original(
            backend, function_id, resource_id, method_type, integration_type, uri, integration_method, **kwargs
        )
        integration.connection_id = connection_id
        return integration

    _FIXES.wrap(APIGatewayBackend, "put_integration", put_integration)


def _keep_vpc_link_of_integrations() -> None:
    """Keep each integration's `connectionId`, from an OpenAPI document or PutIntegration.

    moto: reads `connectionType` from `x-amazon-apigateway-integration` but not
    `connectionId`, ignores PutIntegration's `connectionId`, and answers GetIntegration
    without it.
    AWS: an integration through a VPC link keeps `connectionType: VPC_LINK` and the
    link's id in `connectionId` (API Gateway extensions to OpenAPI,
    x-amazon-apigateway-integration object), which is how API Gateway knows the link's
    users (it refuses to delete a link that is in use, see strict.py).
    We: keep it on moto's integration and report it as AWS does.
    """

    def build_args(original, backend: APIGatewayBackend, integration: dict[str, Any]) -> dict[str, Any]:
        return {**original(backend, integration), "connection_id": integration.get("connectionId")}

    def to_json(original, integration: Integration) -> dict[str, Any]:
        return {**original(integration), "connectionId": getattr(integration, "connection_id", None)}

    def put_response(original, response: APIGatewayResponse) -> Any:
        status, headers, body = original(response)
        connection_id = response._get_param("connectionId")
        if connection_id:
            parts = response.path.split("/")
            integration = response.backend.get_integration(parts[2], parts[4], parts[6])
            integration.connection_id = connection_id
            body = json.dumps(integration.to_json())
        return status, headers, body

    _FIXES.wrap(APIGatewayBackend, "_build_integration_args", build_args)
    _FIXES.wrap(Integration, "to_json", to_json)
    _FIXES.wrap(APIGatewayResponse, "put_integration", put_response)


def _accept_t3_production_variants() -> None:
    """Let an endpoint config use ml.t3 instances.

    moto: refuses ml.t3.medium and ml.t3.large production variants (its own list of
    valid types predates them), with a ValidationException AWS does not send.
    AWS: accepts them for real-time endpoints (aws/aws-sdk-go#5229: only a client-side
    enum check refused them); they are the current replacement of ml.t2 in regions
    that no longer offer ml.t2 (data/sagemaker-instance-types.json).
    We: accept the hosting types of the ml.t3 family that table lists.
    """

    def validate(original, config: FakeEndpointConfig, instance_type: str) -> None:
        if instance_type in instance_types.types_for("hosting", "ml.t3"):
            return
        original(config, instance_type)

    _FIXES.wrap(FakeEndpointConfig, "validate_instance_type", validate)


def _delete_unknown_rest_api_is_not_found() -> None:
    """DeleteRestApi of an API that does not exist answers NotFoundException (404).

    moto: pops the id from a dict and fails with a KeyError (HTTP 500 from the server).
    AWS: answers 404 NotFoundException, as GetRestApi does; callers take it for "already gone".
    We: look the API up first, which raises moto's own not-found error.
    """

    def delete_rest_api(original, backend: APIGatewayBackend, function_id: str) -> Any:
        backend.get_rest_api(function_id)
        return original(backend, function_id)

    _FIXES.wrap(APIGatewayBackend, "delete_rest_api", delete_rest_api)


def _delete_unknown_vpc_link_is_not_found() -> None:
    """DeleteVpcLink of a link that does not exist answers NotFoundException (404).

    moto: answers 202 whatever the id, as if it had deleted something.
    AWS: answers 404 NotFoundException (DeleteVpcLink API reference, Errors), as GetVpcLink does;
    callers take it for "already gone" rather than saying they deleted it.
    We: look the link up first, which raises moto's own not-found error.
    """

    def delete_vpc_link(original, backend: APIGatewayBackend, vpc_link_id: str) -> Any:
        backend.get_vpc_link(vpc_link_id)
        return original(backend, vpc_link_id)

    _FIXES.wrap(APIGatewayBackend, "delete_vpc_link", delete_vpc_link)


def _unimplemented_actions_are_501() -> None:
    """An operation moto does not implement answers 501 Not Implemented, at once.

    moto: raises NotImplementedError, which its server turns into an HTML 500.
    AWS: implements them; a 500 from AWS is transient, so clients retry it (eight attempts with
    backoff: half a minute spent on an operation that will never work here).
    We: answer 501, what HTTP says for an operation a server does not do; no client retries it.
    """
    from moto.core.responses import BaseResponse

    def call_action(original, response: BaseResponse) -> Any:
        try:
            return original(response)
        except NotImplementedError as error:
            return _not_implemented(response, f"{error} in the local cloud")

    _FIXES.wrap(BaseResponse, "call_action", call_action)


def _not_implemented(response: Any, message: str) -> Any:
    """A 501 in the service's own protocol (a query service's client cannot read JSON, and would retry)."""
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class NotImplementedHere(ServiceException):
        code = "NotImplemented"

    try:
        with warnings.catch_warnings():  # moto warns that the code is none of the service's own errors
            warnings.simplefilter("ignore")
            _, headers, body = response.serialized(ActionResult(NotImplementedHere(message)))
    except Exception:  # noqa: BLE001 - a service moto cannot serialize for: JSON, as most speak it
        headers, body = {"Content-Type": "application/json"}, json.dumps({"__type": "NotImplemented", "message": message})
    return 501, {**headers, "status": "501", "x-amzn-ErrorType": "NotImplemented"}, body


def _request_ids_are_uuids() -> None:
    """Every response's request id is a UUID, and the one an operation chose is kept.

    moto: writes a random 52-character string into `x-amzn-requestid` of every response,
    over any request id the operation set.
    AWS: request ids are UUIDs (`x-amzn-RequestId`, e.g. c6af9ac6-7b61-11e6-9a41-93e8deadbeef),
    and Lambda's Invoke answers with the invocation's own request id, the one the function's
    context and log carry.
    We: a UUID, unless the operation set one (lambda_api.py does).
    """
    import uuid

    from moto.core.responses import BaseResponse

    def enrich(original, headers: dict[str, str], body: Any) -> Any:
        chosen = next((value for key, value in headers.items() if key.lower() == "x-amzn-requestid"), None)
        for key in [key for key in headers if key.lower() == "x-amzn-requestid"]:
            del headers[key]
        headers, body = original(headers, body)
        request_id = chosen or str(uuid.uuid4())
        if isinstance(body, str):
            body = body.replace(headers["x-amzn-requestid"], request_id)
        headers["x-amzn-requestid"] = request_id
        return headers, body

    _FIXES.replace(BaseResponse, "_enrich_response", lambda original: staticmethod(functools.partial(enrich, original)))
