"""Mythical Mysfits recommendations service (AWS Lambda, API Gateway proxy integration).

POST {"entry": [a, b, c, d, e]} -> 200 {"recommendedMysfit": "<mysfitId>"}

The five answers are the questionnaire's option values, integers 1-8. Only JSON integers
are accepted: 3.0, "3" and true are rejected, because the site always sends integers and
anything else means the caller is sending something other than questionnaire answers.

Environment:
  ENDPOINT_NAME  the SageMaker k-NN endpoint to invoke (required)
  CONTENT_TYPE   what the endpoint is sent: application/jsonlines (default) or text/csv

Responses: 200 recommendation / OPTIONS preflight; 400 malformed request; 405 other methods;
500 service misconfigured or unexpected failure; 502 endpoint failed or answered nonsense;
503 endpoint throttled, unavailable or too slow. Every response is JSON and carries CORS headers.
Server-side failures answer a generic message; what went wrong (error codes, the endpoint's
own message, which may name the endpoint, its ARN or the account) goes to the log only.

Time budget: API Gateway cuts the integration at 29 s and the function times out at 30 s.
The endpoint client makes at most ATTEMPTS connections of CONNECT_TIMEOUT + READ_TIMEOUT
each, with one retry delay between them (standard mode: at most 1 s, or up to 5 s more when
the service asks for it with x-amz-retry-after), so WORST_CASE_SECONDS stays well inside both.

Standard library and boto3 only, as in the Lambda runtime.
"""

import base64
import binascii
import json
import math
import os
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

MYSFITS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mysfits.json")
DEFAULT_CONTENT_TYPE = "application/jsonlines"
SUPPORTED_CONTENT_TYPES = ("application/jsonlines", "text/csv")
ANSWER_COUNT = 5
ANSWER_MIN, ANSWER_MAX = 1, 8
MAX_BODY_CHARS = 64 * 1024

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
}

# Error codes that mean "try again later" rather than "the endpoint is broken".
UNAVAILABLE_CODES = frozenset({
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ModelNotReadyException",
})

CONNECT_TIMEOUT = 2
READ_TIMEOUT = 6  # SageMaker's k-NN answers one row in milliseconds
ATTEMPTS = 2  # botocore's total_max_attempts counts attempts; retries={"max_attempts": n} counts retries
MAX_RETRY_DELAY = 1 + 5
WORST_CASE_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + (ATTEMPTS - 1) * MAX_RETRY_DELAY

FAILED = "Could not find a recommendation right now. Please try again later."
BUSY = "The recommendation service is busy. Please try again in a moment."
MISCONFIGURED = "The recommendation service is not set up correctly."

# Created on first use and then reused by every invocation of this container;
# tests replace them.
runtime = None
_mysfit_ids = None


class RequestError(Exception):
    """Something wrong with the request or the service: the HTTP status, the message the
    caller sees, and the detail that only the log sees."""

    def __init__(self, status, message, detail=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def recommend(event, context=None):
    started = time.monotonic()
    log = {"method": None, "entry": None}
    try:
        status, payload = _handle(event, log)
    except RequestError as exc:
        status, payload = exc.status, {"message": exc.message}
        if exc.detail:
            log["detail"] = exc.detail
    except Exception as exc:  # last resort: the caller still gets JSON
        status, payload = 500, {"message": "internal error"}
        log["exception"] = f"{type(exc).__name__}: {_truncate(str(exc))}"
    log["status"] = status
    if status >= 400:
        log["error"] = payload.get("message")
    log["ms"] = round((time.monotonic() - started) * 1000, 1)
    _log(log)
    return _response(status, payload)


def _handle(event, log):
    if not isinstance(event, dict):
        raise RequestError(400, "request is not an API Gateway proxy event")
    method = _method(event)
    log["method"] = _truncate(method, 20)
    if method == "OPTIONS":
        return 200, {}
    if method != "POST":
        raise RequestError(405, f"method {_truncate(method)} is not allowed; use POST")

    entry = parse_entry(_body_text(event))
    log["entry"] = entry
    mysfit_id = _recommend_mysfit(entry)
    log["mysfit"] = mysfit_id
    return 200, {"recommendedMysfit": mysfit_id}


def _method(event):
    method = event.get("httpMethod")
    if method is None:  # HTTP API (payload 2.0) events keep it in requestContext.http
        context = event.get("requestContext")
        http = context.get("http") if isinstance(context, dict) else None
        method = http.get("method") if isinstance(http, dict) else None
    if method is None:
        return "POST"  # a direct invocation (console, CLI) carries no method
    if not isinstance(method, str):
        raise RequestError(400, "httpMethod must be a string")
    return method.upper()


def _body_text(event):
    body = event.get("body")
    if body is None or body == "":
        raise RequestError(400, 'request body is required: {"entry": [a, b, c, d, e]}')
    if not isinstance(body, str):
        raise RequestError(400, "request body must be a JSON string")
    if len(body) > MAX_BODY_CHARS:
        raise RequestError(400, f"request body is too large (over {MAX_BODY_CHARS} characters)")
    if event.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise RequestError(400, "request body is not valid base64-encoded UTF-8") from None
    return body


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_entry(text):
    """The five answers of a request body, or RequestError(400) saying what is wrong."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise RequestError(400, "request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise RequestError(400, f"request body must be a JSON object, not {_json_type(document)}")
    if "entry" not in document:
        raise RequestError(400, "request body has no 'entry'")
    entry = document["entry"]
    if not isinstance(entry, list):
        raise RequestError(400, f"'entry' must be a list, not {_json_type(entry)}")
    if len(entry) != ANSWER_COUNT:
        raise RequestError(400, f"'entry' must have exactly {ANSWER_COUNT} answers, got {len(entry)}")
    for index, answer in enumerate(entry):
        if type(answer) is not int:  # bool is a subclass of int; so is nothing else we accept
            raise RequestError(
                400, f"entry[{index}] must be an integer, not {_json_type(answer)}")
        if not ANSWER_MIN <= answer <= ANSWER_MAX:
            shown = answer if abs(answer) < 10**6 else "a number that large"
            raise RequestError(
                400, f"entry[{index}] must be from {ANSWER_MIN} to {ANSWER_MAX}, got {shown}")
    return entry


def _recommend_mysfit(entry):
    endpoint = os.environ.get("ENDPOINT_NAME", "").strip()
    if not endpoint:
        raise RequestError(500, MISCONFIGURED, "ENDPOINT_NAME is not set")
    content_type = os.environ.get("CONTENT_TYPE", "").strip() or DEFAULT_CONTENT_TYPE
    if content_type not in SUPPORTED_CONTENT_TYPES:
        raise RequestError(500, MISCONFIGURED, f"unsupported CONTENT_TYPE {_truncate(content_type, 60)}")
    mysfit_ids = _mysfit_table()

    label = _predict(endpoint, content_type, entry)
    if label not in mysfit_ids:
        raise RequestError(502, FAILED, f"the model answered unknown label {label}")
    return mysfit_ids[label]


def _predict(endpoint, content_type, entry):
    if content_type == "text/csv":
        payload = ",".join(str(answer) for answer in entry)
    else:
        payload = json.dumps({"features": entry})
    try:
        response = _runtime().invoke_endpoint(
            EndpointName=endpoint,
            ContentType=content_type,
            Accept="application/json",
            Body=payload.encode("utf-8"),
        )
        raw = response["Body"].read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        http_status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        busy = code in UNAVAILABLE_CODES or http_status in (429, 503)
        raise RequestError(503 if busy else 502, BUSY if busy else FAILED,
                           f"InvokeEndpoint failed: {code or 'error'}: {_truncate(error.get('Message', ''))}") from None
    except (ReadTimeoutError, ConnectTimeoutError) as exc:  # too slow for API Gateway's 29 s: try again later
        raise RequestError(503, BUSY, f"InvokeEndpoint timed out: {_truncate(str(exc))}") from None
    except BotoCoreError as exc:
        raise RequestError(502, FAILED, f"InvokeEndpoint unreachable: {_truncate(str(exc))}") from None
    return _predicted_label(raw)


def _predicted_label(raw):
    """The integer label of a k-NN classifier's application/json answer."""
    try:
        label = json.loads(raw)["predictions"][0]["predicted_label"]
    except (ValueError, RecursionError, KeyError, IndexError, TypeError):
        raise RequestError(502, FAILED, f"malformed endpoint answer {_truncate(repr(raw), 80)}") from None
    if isinstance(label, bool) or not isinstance(label, (int, float)) \
            or not math.isfinite(label) or label != int(label):
        raise RequestError(502, FAILED, f"the model answered a non-integer label {label!r:.40}")
    return int(label)


def client_config():
    """The endpoint client's timeouts and retries (see WORST_CASE_SECONDS)."""
    return Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                  retries={"mode": "standard", "total_max_attempts": ATTEMPTS})


def _runtime():
    global runtime
    if runtime is None:
        runtime = boto3.client("sagemaker-runtime", config=client_config())
    return runtime


def label_table(document):
    """{label: mysfitId} from the mysfits.json document."""
    return {int(mysfit["label"]): mysfit["mysfitId"] for mysfit in document["mysfits"]}


def _mysfit_table():
    global _mysfit_ids
    if _mysfit_ids is None:
        try:
            with open(MYSFITS_FILE, encoding="utf-8") as handle:
                _mysfit_ids = label_table(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RequestError(500, MISCONFIGURED,
                               f"cannot read mysfits.json: {type(exc).__name__}") from None
    return _mysfit_ids


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return f"a decimal number ({value!r:.20})"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _truncate(text, limit=200):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _response(status, payload):
    headers = {"Content-Type": "application/json", **CORS_HEADERS}
    if status == 405:
        headers["Allow"] = "OPTIONS, POST"
    return {"statusCode": status, "headers": headers, "body": json.dumps(payload)}


def _log(fields):
    print(json.dumps(fields, default=str))
