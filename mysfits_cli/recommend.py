"""Asking for a recommendation: through the deployed API, or straight from the endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from . import reference
from .errors import MysfitsError


def check_answers(answers: list[int]) -> list[int]:
    allowed = reference.answer_values()
    if len(answers) != len(reference.questions()):
        raise MysfitsError(f"Give exactly {len(reference.questions())} answers (one per question), got {len(answers)}")
    for position, value in enumerate(answers, start=1):
        if value not in allowed:
            raise MysfitsError(f"Answer {position} is {value}; each answer must be one of {allowed[0]}-{allowed[-1]}")
    return answers


def via_api(url: str, answers: list[int], timeout: float = 35) -> dict[str, Any]:
    """POST {"entry": answers} to the recommendations API and return the mysfit it names."""
    request = urllib.request.Request(
        url, data=json.dumps({"entry": answers}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise MysfitsError(f"The recommendations API answered {exc.code}: {_message(exc.read())}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise MysfitsError(f"Cannot reach the recommendations API at {url}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise MysfitsError(f"The recommendations API answered something that is not JSON: {exc}") from exc
    return _mysfit(body.get("recommendedMysfit"))


def via_endpoint(runtime, endpoint: str, answers: list[int]) -> dict[str, Any]:
    """Ask the SageMaker endpoint directly, as the function does (application/jsonlines)."""
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="application/jsonlines", Accept="application/json",
        Body=json.dumps({"features": answers}).encode(),
    )
    try:
        label = int(json.loads(response["Body"].read())["predictions"][0]["predicted_label"])
        return reference.mysfit_by_label(label)
    except (ValueError, KeyError, IndexError, TypeError, StopIteration) as exc:
        raise MysfitsError(f"Endpoint {endpoint} answered something unexpected: {exc}") from exc


def _mysfit(mysfit_id: Any) -> dict[str, Any]:
    mysfit = reference.mysfit_by_id(mysfit_id) if isinstance(mysfit_id, str) else None
    if mysfit is None:
        raise MysfitsError(f"The recommendations API named an unknown mysfit: {mysfit_id!r}")
    return mysfit


def _message(body: bytes) -> str:
    try:
        return json.loads(body).get("message", body.decode(errors="replace"))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:200]
