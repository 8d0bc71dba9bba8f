"""An execute-api data plane for the REST APIs in moto, as WSGI middleware in front of moto.

It answers, for a deployed stage of a REST API:
  /restapis/<api-id>/<stage>/_user_request_/<path>
  /execute-api/<api-id>/<stage>/<path>
  /<stage>/<path> with Host: <api-id>.execute-api.<anything>
serves the site under /_mysfits/website/ and /_mysfits/cloudfront/ (see webhost.py),
and hands every other request to moto.

The method is found the way API Gateway finds it (literal path parts before
{param}, before {greedy+}; then ANY) and its integration is run:
  AWS_PROXY to a Lambda function   the function runs in a warm execution environment (see lambdas.py),
                                   the same ones the Lambda Invoke API uses
  MOCK                             the integration response's status and literal headers
  HTTP_PROXY to a load balancer    the Mysfits service over MysfitsTable (see backend.py)
Integration types are compared case-insensitively: moto keeps them as imported.
A method with a Cognito user-pool authorizer (kept on import, see cognito_authorizer.py)
needs a valid ID token in its identity source header, else 401 {"message": "Unauthorized"}.
What API Gateway answers by itself (401, 403, 413, 500, 502, 504) is shaped by the API's gateway
responses (kept on import, see gateway_responses.py): the CORS headers a page needs to read it.
Anything that goes wrong is a JSON error, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from moto.apigateway.models import apigateway_backends
from moto.elbv2.models import elbv2_backends
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from . import backend, cognito_authorizer, gateway_responses, lambdas, webhost
from .seed import ACCOUNT_ID

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's default integration timeout

_LONG_FORM = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
_SHORT_FORM = re.compile(r"^/execute-api/(?P<api>[^/]+)/(?P<stage>[^/]+)(?P<path>/.*)?$")
_HOST_FORM = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.", re.IGNORECASE)
_STAGE_PATH = re.compile(r"^/(?P<stage>[^/]+)(?P<path>/.*)?$")
_LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$")
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/")


@dataclass
class Route:
    api: Any  # moto RestAPI
    account_id: str
    region: str
    stage: Any  # moto Stage
    resource: Any  # moto Resource
    resource_path: str
    method: Any  # moto Method
    path_parameters: dict[str, str]


class DataPlane:
    """WSGI middleware: execute-api requests are answered here, the rest go to `app`."""

    def __init__(self, app: Callable, endpoint_url: str | None = None, cache_dir: Path | None = None):
        self.app = app
        self.endpoint_url = endpoint_url
        self.functions = lambdas.configure(endpoint_url, cache_dir)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if webhost.matches(_decode(environ.get("PATH_INFO", ""))):
            return webhost.serve(Request(environ), ACCOUNT_ID)(environ, start_response)
        target = self._target(environ)
        if target is None:
            return self.app(environ, start_response)
        try:
            response = self._serve(Request(environ), *target)
        except Exception:  # nothing a client sends may take the server down
            traceback.print_exc(file=sys.stderr)
            response = _error(500, "Internal server error", "InternalServerErrorException")
        return response(environ, start_response)

    def _target(self, environ: dict[str, Any]) -> tuple[str, str, str] | None:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        signed_for = _CREDENTIAL_SERVICE.search(auth)
        if signed_for and signed_for.group("service") != "execute-api":
            return None  # a control-plane call signed for some AWS service: moto's
        path = _decode(environ.get("PATH_INFO", ""))
        match = _LONG_FORM.match(path) or _SHORT_FORM.match(path)
        if match:
            return match.group("api"), match.group("stage"), match.group("path") or "/"
        host = _HOST_FORM.match(environ.get("HTTP_HOST", ""))
        stage = _STAGE_PATH.match(path)
        if host and stage:
            return host.group("api"), stage.group("stage"), stage.group("path") or "/"
        return None

    def _serve(self, request: Request, api_id: str, stage_name: str, path: str) -> Response:
        request.max_content_length = MAX_PAYLOAD_BYTES
        try:
            body, body_too_large = request.get_data(cache=True), False
        except RequestEntityTooLarge:
            body, body_too_large = b"", True
        found = _find_api(api_id)
        if found is None:
            return _error(404, "Not Found", "NotFoundException")
        api, account_id, region = found

        def refuse(response_type: str | None, status: int, message: str, error_type: str) -> Response:
            return gateway_responses.respond(api, request.headers, response_type, status, message, error_type)

        stage = api.stages.get(stage_name)
        if stage is None:
            return refuse(None, 403, "Forbidden", "ForbiddenException")
        route = _route(api, account_id, region, stage, path, request.method)
        if route is None:
            return refuse("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token",
                          "MissingAuthenticationTokenException")
        if body_too_large:
            return refuse("REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLongException")
        if not cognito_authorizer.allows(route.api, route.method, request.headers):
            return refuse("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
        integration = route.method.method_integration
        if integration is None:
            return refuse("API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException")
        kind = str(integration.integration_type or "").upper()
        if kind == "AWS_PROXY":
            return self._lambda_proxy(request, route, integration, path, body, refuse)
        if kind == "MOCK":
            return _mock(integration, request) or refuse(
                "API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException")
        if kind == "HTTP_PROXY":
            return _http_proxy(request, route, integration) or refuse(
                "INTEGRATION_FAILURE", 502, "Internal server error", "BadGatewayException")
        return refuse(None, 500, f"The local cloud does not run {kind or 'untyped'} integrations",
                      "InternalServerErrorException")

    def _lambda_proxy(self, request: Request, route: Route, integration: Any, path: str, body: bytes,
                      refuse: Callable[[str | None, int, str, str], Response]) -> Response:
        match = _LAMBDA_URI.match(integration.uri or "")
        if match is None:
            return refuse("API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException")
        try:
            function = lambdas.find_function(match.group("fn"), route.account_id, route.region)
        except lambdas.FunctionNotFound:
            return refuse("API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException")
        endpoint_url = self.endpoint_url or request.host_url.rstrip("/")
        event = proxy_event(request, route, path, body)
        try:
            invocation = self.functions.invoke(function, event, endpoint_url=endpoint_url,
                                               max_seconds=INTEGRATION_TIMEOUT_SECONDS)
        except lambdas.Throttled:  # API Gateway answers a throttled Lambda proxy integration with a 500
            return _error(500, "Internal server error", "InternalServerErrorException")
        if not invocation.completed:
            return refuse("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out", "IntegrationTimeout")
        if not invocation.ok:
            return refuse(None, 502, "Internal server error", "InternalServerErrorException")
        return _proxy_response(invocation.result) or refuse(
            None, 502, "Internal server error", "InternalServerErrorException")


def _decode(path: str) -> str:
    # WSGI hands the path over as latin-1 text of the raw bytes
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def _find_api(api_id: str) -> tuple[Any, str, str] | None:
    for account_id, regions in list(apigateway_backends.items()):
        for region, gateway in list(regions.items()):
            api = gateway.apis.get(api_id)
            if api is not None:
                return api, account_id, region
    return None


def _route(api: Any, account_id: str, region: str, stage: Any, path: str, method: str) -> Route | None:
    request_parts = _segments(path)
    best: tuple[tuple[int, ...], Any, str, dict[str, str]] | None = None
    for resource in list(api.resources.values()):
        template = resource.get_path()
        params = _match(_segments(template), request_parts)
        if params is None:
            continue
        rank = tuple(_rank(part) for part in _segments(template))
        if best is None or rank < best[0]:
            best = (rank, resource, template, params)
    if best is None:
        return None
    _, resource, template, params = best
    methods = resource.resource_methods
    found = methods.get(method.upper()) or methods.get("ANY")
    if found is None:
        return None
    return Route(api, account_id, region, stage, resource, template, found, params)


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _rank(part: str) -> int:
    if part.startswith("{") and part.endswith("+}"):
        return 2
    return 1 if part.startswith("{") and part.endswith("}") else 0


def _match(template: list[str], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, segment in enumerate(template):
        if i >= len(parts):
            return None
        kind = _rank(segment)
        if kind == 2:
            params[segment[1:-2]] = "/".join(parts[i:])
            return params
        if kind == 1:
            params[segment[1:-1]] = parts[i]
        elif segment != parts[i]:
            return None
    return params if len(template) == len(parts) else None


def proxy_event(request: Request, route: Route, path: str, body: bytes) -> dict[str, Any]:
    """The event API Gateway's REST Lambda proxy integration sends."""
    headers = {key: value for key, value in request.headers.items()}
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    query = parse_qs(request.query_string.decode("latin-1"), keep_blank_values=True)
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": route.resource_path,
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": getattr(route.stage, "variables", None) or None,
        "requestContext": {
            "accountId": route.account_id,
            "apiId": route.api.id,
            "resourceId": route.resource.id,
            "resourcePath": route.resource_path,
            "httpMethod": request.method,
            "path": f"/{route.stage.name}{path}",
            "stage": route.stage.name,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "domainName": request.host,
            "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string or None},
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64 if body else False,
    }


def _proxy_response(result: Any) -> Response | None:
    """The HTTP response a Lambda proxy result stands for; None if it is malformed (API Gateway's 502)."""
    try:
        if not isinstance(result, dict):
            raise ValueError("not an object")
        status = int(result["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError("bad statusCode")
        body = result.get("body")
        if body is not None and not isinstance(body, str):
            raise ValueError("body is not a string")
        data = (body or "").encode()
        if result.get("isBase64Encoded"):
            data = base64.b64decode(data, validate=True)
        response = Response(data, status=status, content_type="application/json")
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(key)
            for value in values:
                response.headers.add(key, str(value))
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        return response
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        return None


def _mock(integration: Any, request: Request) -> Response | None:
    """The MOCK integration's answer; None when no integration response matches (API Gateway's 500)."""
    responses = integration.integration_responses or {}
    status = _mock_status(integration, request)
    chosen = responses.get(str(status)) or next(
        (r for r in responses.values() if not r.selection_pattern), None
    )
    if chosen is None:
        return None
    templates = chosen.response_templates or {}
    body = templates.get("application/json") or next((t for t in templates.values() if t), "") or ""
    response = Response(body, status=int(chosen.status_code), content_type="application/json")
    for key, value in (chosen.response_parameters or {}).items():
        name = key.removeprefix("method.response.header.")
        if name != key and _is_literal(value):
            response.headers[name] = value[1:-1]
    return response


def _mock_status(integration: Any, request: Request) -> int:
    """The statusCode the request template selects, as in `{"statusCode": 200}`."""
    templates = integration.request_templates or {}
    template = templates.get(request.mimetype or "application/json") or templates.get("application/json")
    try:
        return int(json.loads(template)["statusCode"])
    except (TypeError, ValueError, KeyError):
        return 200


def _is_literal(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'"


def _http_proxy(request: Request, route: Route, integration: Any) -> Response | None:
    """The backend's answer; None when the local cloud has no backend at the integration's host (API Gateway's 502)."""
    target = urlsplit(_fill_uri(integration, route.path_parameters))
    host = (target.hostname or "").lower()
    load_balancers = elbv2_backends[route.account_id][route.region].load_balancers.values()
    if host not in {lb.dns_name.lower() for lb in list(load_balancers)}:
        print(f"execute-api: no backend at {host or integration.uri!r}", file=sys.stderr)  # the server's log says why
        return None
    query = parse_qs(request.query_string.decode("latin-1"), keep_blank_values=True)
    status, headers, body = backend.handle(route.account_id, route.region, request.method, target.path, query)
    return Response(body, status=status, headers=headers)


def _fill_uri(integration: Any, path_parameters: dict[str, str]) -> str:
    """The integration URI with {name} filled from the method's path parameters."""
    values = dict(path_parameters)
    for key, source in (integration.request_parameters or {}).items():
        if key.startswith("integration.request.path.") and str(source).startswith("method.request.path."):
            values[key.removeprefix("integration.request.path.")] = path_parameters.get(
                str(source).removeprefix("method.request.path."), ""
            )
    return re.sub(r"\{([^}+]+)\+?\}", lambda m: values.get(m.group(1), m.group(0)), integration.uri or "")


def _error(status: int, message: str, error_type: str) -> Response:
    return Response(
        json.dumps({"message": message}), status=status, content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )
