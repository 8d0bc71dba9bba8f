"""Lambda's Invoke API on the local cloud's own runner (an emulator-only fix to moto 5.2).

moto: runs the function in Docker; without Docker every invocation answers
`X-Amz-Function-Error: Handled` with the payload "error running docker: ...", and a function
error is reported as `Handled` too.
AWS (Invoke API reference; Lambda developer guide, "Invoke a Lambda function synchronously",
"Error handling"):
- RequestResponse (the default) answers 200 with the function's response; an error the function
  did not handle answers 200 with `X-Amz-Function-Error: Unhandled` and the runtime's error
  payload `{"errorMessage", "errorType", "requestId", "stackTrace"}`; with `X-Amz-Log-Type: Tail`,
  `X-Amz-Log-Result` carries the last 4 KB of the invocation's log, base64-encoded;
- Event answers 202 with no body at once and runs the function later; DryRun answers 204 and
  runs nothing;
- a payload that is not JSON is 400 InvalidRequestContentException; a function still Pending is
  409 ResourceConflictException; more invocations than its reserved concurrency is 429
  TooManyRequestsException (Reason ReservedFunctionConcurrentInvocationLimitExceeded);
- every answer names the version it ran in `X-Amz-Executed-Version`.
We: the same, running the function in the warm execution environments the API data plane
uses (lambdas.py). An Event invocation whose function fails is run again as Lambda does
(developer guide, "Error handling and automatic retries in Lambda": "two more times, with a
one-minute wait between the first two attempts, and two minutes between the second and third"),
in the local cloud's AWS seconds, as many times as the function's event invoke config's
MaximumRetryAttempts allows (0-2; 2 without one).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

from moto.awslambda.responses import LambdaResponse

from . import context, lambdas
from .errors import AwsError, lambda_error
from .patching import Patches

MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda quotas: 6 MB for a synchronous response
RETRY_WAITS = (60.0, 120.0)  # AWS seconds before the first and the second retry of a failed Event invocation
_PATCHES = Patches("lambda-invoke")


def install() -> None:
    _PATCHES.install(_invoke_in_environments)


def uninstall() -> None:
    _PATCHES.restore()


def _invoke_in_environments() -> None:
    def invoke(self: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
        function = self.backend.get_function(unquote(self.path.rsplit("/", 2)[-2]), self._get_param("qualifier"))
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise lambda_error(400, "InvalidParameterValueException",
                               f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        event = _event(self.body)
        _refuse_unless_active(function)
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        if kind == "DryRun":
            return 204, {**headers, "status": "204"}, ""
        if kind == "Event":
            _in_background(function, event, _endpoint_url(self))
            return 202, {**headers, "status": "202"}, ""
        invocation = _run(function, event, _endpoint_url(self))
        headers["x-amzn-RequestId"] = invocation.request_id
        if (self.headers.get("X-Amz-Log-Type") or "None") == "Tail":
            headers["X-Amz-Log-Result"] = invocation.log_tail
        if invocation.ok:
            payload = json.dumps(invocation.result)
            if len(payload.encode()) <= MAX_RESPONSE_BYTES:
                return 200, headers, payload
            invocation.error = {"errorMessage": "Response payload size exceeded maximum allowed payload size "
                                                f"({MAX_RESPONSE_BYTES} bytes).",
                                "errorType": "Function.ResponseSizeTooLarge"}
        headers["X-Amz-Function-Error"] = "Unhandled"
        return 200, headers, json.dumps(invocation.error)

    def invoke_async(self: LambdaResponse) -> tuple[int, dict[str, str], str]:
        """The deprecated InvokeAsync: an Event invocation answering {"Status": 202}."""
        function = self.backend.get_function(unquote(self.path.rstrip("/").rsplit("/", 2)[-2]), None)
        event = _event(self.body)
        _refuse_unless_active(function)
        _in_background(function, event, _endpoint_url(self))
        return 202, {"status": "202", "Content-Type": "application/json"}, json.dumps({"Status": 202})

    _PATCHES.replace(LambdaResponse, "invoke", lambda _: invoke)
    _PATCHES.replace(LambdaResponse, "invoke_async", lambda _: invoke_async)


def _event(body: Any) -> Any:
    text = body.decode() if isinstance(body, bytes) else (body or "")
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as error:
        raise lambda_error(400, "InvalidRequestContentException",
                           f"Could not parse request body into json: Could not parse payload into json: {error}") from None


def _refuse_unless_active(function: Any) -> None:
    state = function.get_configuration().get("State", "Active")
    if state != "Active":
        raise lambda_error(409, "ResourceConflictException", "The operation cannot be performed at this time. "
                                                              f"The function is currently in the following state: {state}")


def _endpoint_url(response: LambdaResponse) -> str:
    """Where the function reaches this cloud: the server's own address, else the one this request came to."""
    return lambdas.environments().endpoint_url or f"http://{response.headers.get('Host', '127.0.0.1')}"


def _run(function: Any, event: Any, endpoint_url: str) -> lambdas.Invocation:
    try:
        return lambdas.environments().invoke(function, event, endpoint_url=endpoint_url)
    except lambdas.Throttled:
        raise AwsError(429, "TooManyRequestsException", {
            "Type": "User", "message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        }) from None


def _in_background(function: Any, event: Any, endpoint_url: str, attempt: int = 0) -> None:
    """Run an Event invocation; when the function fails, run it again after Lambda's wait."""
    def run() -> None:
        try:
            failed = not lambdas.environments().invoke(function, event, endpoint_url=endpoint_url).ok
        except Exception as error:  # an asynchronous invocation has no caller to tell; its log says it
            print(f"asynchronous invocation of {function.function_name} failed: {error}", flush=True)
            return
        if failed and attempt < _retries(function):
            context.current().clock.call_later(
                RETRY_WAITS[attempt], lambda: _in_background(function, event, endpoint_url, attempt + 1))

    threading.Thread(target=run, name=f"lambda-event-{function.function_name}", daemon=True).start()


def _retries(function: Any) -> int:
    """How often Lambda retries a failed Event invocation: the event invoke config's MaximumRetryAttempts, else 2."""
    configs = getattr(function, "event_invoke_config", None) or []
    attempts = configs[0].config.get("MaximumRetryAttempts") if configs else None
    return len(RETRY_WAITS) if attempts is None else min(int(attempts), len(RETRY_WAITS))
