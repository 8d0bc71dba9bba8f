"""API Gateway's gateway responses in the local cloud: what API Gateway answers by itself when it refuses a request.

moto 5.2's import of an OpenAPI document (import_rest_api, put_rest_api) drops the
`x-amazon-apigateway-gateway-responses` extension, so the CORS headers our documents put on
API Gateway's own 4XX and 5XX answers would never be sent, and a page would see a 401 as a
network error. AWS keeps them: "Whenever API Gateway returns a response of this type, the header
mappings and payload mapping templates defined in the gateway response are applied" (API Gateway
Developer Guide, "Gateway responses in API Gateway"). The emulator-only fix (`PATCHES`): after
moto's own import, each gateway response of the document is kept, as PutGatewayResponse keeps one
(overwrite mode replaces the API's gateway responses, merge mode adds to them). `respond()` then
answers as API Gateway does: with the response type's own gateway response, else DEFAULT_4XX or
DEFAULT_5XX by status ("If the response type is unspecified, this response defaults to the
DEFAULT_4XX type", "Gateway response types for API Gateway"), else API Gateway's default answer,
`{"message": "..."}` with its `x-amzn-ErrorType`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from moto.apigateway.models import APIGatewayBackend
from werkzeug.wrappers import Response

EXTENSION = "x-amazon-apigateway-gateway-responses"
HEADER = "gatewayresponse.header."
REQUEST_HEADER = "method.request.header."


def _put_rest_api(original: Any) -> Any:
    def put_rest_api(self: APIGatewayBackend, function_id: str, api_doc: dict[str, Any],
                     fail_on_warnings: bool, mode: str = "merge") -> Any:
        api = original(self, function_id, api_doc, fail_on_warnings, mode)
        if mode == "overwrite":
            api.gateway_responses.clear()
        for response_type, response in (api_doc.get(EXTENSION) or {}).items():
            api.put_gateway_response(response_type=response_type, status_code=response.get("statusCode"),
                                     response_parameters=response.get("responseParameters"),
                                     response_templates=response.get("responseTemplates"))
        return api
    return put_rest_api


PATCHES = [(APIGatewayBackend, "put_rest_api", _put_rest_api)]


def respond(api: Any, request_headers: Mapping[str, str], response_type: str | None, status: int, message: str,
            error_type: str) -> Response:
    """API Gateway's own answer of `response_type` (default status `status`), as the API's gateway responses shape it."""
    fallback = (getattr(api, "gateway_responses", None) or {}).get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
    chosen = (getattr(api, "gateway_responses", None) or {}).get(response_type or "") or fallback
    status = int((chosen and chosen.status_code) or (fallback and fallback.status_code) or status)
    templates = (chosen.response_templates if chosen else None) or {}
    template = templates.get("application/json") or next(iter(templates.values()), None)
    body = json.dumps({"message": message}) if template is None else _fill(template, message, response_type or "")
    response = Response(body, status=status, content_type="application/json", headers={"x-amzn-ErrorType": error_type})
    for key, value in ((chosen.response_parameters if chosen else None) or {}).items():
        if key.startswith(HEADER):
            header_value = _value(str(value), request_headers)
            if header_value is not None:
                response.headers[key[len(HEADER):]] = header_value
    return response


def _fill(template: str, message: str, response_type: str) -> str:
    """The few $context variables a gateway response's template may use here."""
    return (template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.message", message)
            .replace("$context.error.responseType", response_type))


def _value(value: str, request_headers: Mapping[str, str]) -> str | None:
    """A literal ('*'), or a header of the request (method.request.header.Origin); None when there is none."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value.startswith(REQUEST_HEADER):
        return request_headers.get(value[len(REQUEST_HEADER):])
    return None
