"""Check every response a botocore client receives against the operation's output shape.

    checker = ShapeChecker()
    checker.watch(session_or_client)           # boto3/botocore session, or one client
    ...                                        # make calls
    assert checker.problems == []

What is checked, from botocore's service model of each operation:
- the parsed response: every required member present, and no member the model does not know;
  enum values among the model's; strings matching the member's pattern (ids, ARNs); every member
  of the type the model gives it. Not the size bounds: they are written for requests, and AWS's
  own answers go past them (DynamoDB's NumberOfDecreasesToday is 0 below a minimum of 1,
  Cognito's schema attribute phone_number_verified has 21 characters above a maximum of 20);
- the wire: in JSON protocols, a timestamp is written as the model's timestampFormat says (epoch
  seconds unless it names another), as AWS writes them.

The AWS CLI (v1) loads the same checker as a plugin (`awscli_initialize` below), given a config
file with `[plugins] shapecheck = tests.support.shapes` and MYSFITS_SHAPE_REPORT naming the file
it reports to.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
from typing import Any

import regex  # the models' patterns are Java regular expressions (\p{L}, ...), which `re` cannot read
from botocore.model import OperationModel, Shape

REPORT_VARIABLE = "MYSFITS_SHAPE_REPORT"
# Strings boto3 hands over as the JSON document they hold (its json_decode_policies handler)
_DECODED_DOCUMENTS = {"policyDocumentType"}


class ShapeChecker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: list[str] = []  # "service.Operation" of every response checked

    def watch(self, target: Any) -> None:
        """Check the responses of a boto3 session, a botocore session or a client."""
        events = target.events if hasattr(target, "events") else target.meta.events
        events.register("after-call", self._after_call)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: OperationModel, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        name = f"{model.service_model.service_name}.{model.name}"
        self.checked.append(name)
        if model.output_shape is None:  # nothing to answer but the status
            return
        # a streaming payload (Invoke, InvokeEndpoint, GetObject) is the caller's to read, once
        found = problems(model, parsed, None if _streams(model.output_shape) else _body(http_response))
        self.problems += [f"{name}: {problem}" for problem in found]


def _body(http_response: Any) -> bytes | None:
    """The raw body, when there is one to read (botocore's Stubber answers without)."""
    return http_response.content if getattr(http_response, "raw", None) is not None else None


def problems(model: OperationModel, parsed: dict[str, Any], raw_body: bytes | None = None) -> list[str]:
    """Every way a response departs from its operation's output shape."""
    found: list[str] = []
    payload = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
    streamed = model.output_shape.serialization.get("payload") if _streams(model.output_shape) else None
    _check(model.output_shape, payload, "", found, streamed)
    protocol = model.service_model.protocol
    if raw_body and protocol in ("json", "rest-json") and not _streams(model.output_shape):
        try:
            raw = json.loads(raw_body)
        except ValueError:
            found.append("the body is not JSON")
        else:
            _check_wire_timestamps(model.output_shape, raw, "", found)
    return found


def _streams(shape: Shape) -> bool:
    payload = shape.serialization.get("payload")
    return bool(payload and shape.members[payload].type_name in ("blob", "string"))


def _check(shape: Shape, value: Any, where: str, found: list[str], streamed: str | None = None) -> None:
    """`streamed`: the member that is the response's stream, the caller's to read (the AWS CLI takes it first)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            found.append(f"{where or 'response'} is {type(value).__name__}, not a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None and name != streamed:
                found.append(f"{where}{name} is required but missing")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], f"{where}{name}.", found)
        unknown = sorted(set(value) - set(shape.members))
        if unknown:
            found.append(f"{where or 'response'} has members the model does not know: {', '.join(unknown)}")
        return
    where = where.rstrip(".")
    if kind == "list":
        if not isinstance(value, list):
            found.append(f"{where} is {type(value).__name__}, not a list")
            return
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}].", found)
    elif kind == "map":
        if not isinstance(value, dict):
            found.append(f"{where} is {type(value).__name__}, not a map")
            return
        for key, item in value.items():
            _check(shape.key, key, f"{where} key {key!r}.", found)
            _check(shape.value, item, f"{where}[{key!r}].", found)
    elif kind == "string":
        if isinstance(value, dict) and shape.name in _DECODED_DOCUMENTS:
            return
        if not isinstance(value, str):
            found.append(f"{where} is {type(value).__name__}, not a string")
            return
        if shape.enum and value not in shape.enum:
            found.append(f"{where} is {value!r}, not one of {', '.join(shape.enum)}")
        pattern = shape.metadata.get("pattern")
        if pattern and _compiled(pattern) is not None and not _compiled(pattern).search(value):
            found.append(f"{where} is {value!r}, which does not match {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(f"{where} is {type(value).__name__}, not an integer")
            return
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found.append(f"{where} is {type(value).__name__}, not a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{where} is {type(value).__name__}, not a boolean")
    elif kind == "timestamp":
        # botocore parses a timestamp into a datetime (or fails); the AWS CLI keeps what was written,
        # whose form _check_wire_timestamps checks
        if isinstance(value, bool) or not isinstance(value, (datetime.datetime, int, float, str)):
            found.append(f"{where} is {value!r}, not a timestamp")


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> Any:
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _check_wire_timestamps(shape: Shape, value: Any, where: str, found: list[str]) -> None:
    """JSON protocols write a timestamp as epoch seconds unless the member's timestampFormat says otherwise."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if member.serialization.get("location"):  # a header or the status code, not the body
                continue
            wire_name = member.serialization.get("name", name)
            if value.get(wire_name) is not None:
                _check_wire_timestamps(member, value[wire_name], f"{where}{name}.", found)
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _check_wire_timestamps(shape.member, item, f"{where.rstrip('.')}[{index}].", found)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check_wire_timestamps(shape.value, item, f"{where.rstrip('.')}[{key!r}].", found)
    elif kind == "timestamp":
        form = shape.serialization.get("timestampFormat", "unixTimestamp")
        written_as_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (form == "unixTimestamp") != written_as_number:
            found.append(f"{where.rstrip('.')} is written {value!r}; AWS writes it as {form}")


def awscli_initialize(cli: Any) -> None:
    """The AWS CLI plugin: each response checked is a line `checked <operation>` of the file
    MYSFITS_SHAPE_REPORT names, each problem a line `problem <operation>: <what>`."""
    checker = ShapeChecker()

    def after_call(**kwargs: Any) -> None:
        checked, problems = len(checker.checked), len(checker.problems)
        checker._after_call(**kwargs)
        with open(os.environ[REPORT_VARIABLE], "a") as report:
            report.writelines(f"checked {name}\n" for name in checker.checked[checked:])
            report.writelines(f"problem {problem}\n" for problem in checker.problems[problems:])

    cli.register("after-call", after_call)
