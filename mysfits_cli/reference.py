"""The reference data shipped with the package: mysfits, questionnaire, k-NN image registries."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any


@lru_cache(maxsize=None)
def load(name: str) -> Any:
    return json.loads(files("mysfits_cli.data").joinpath(name).read_text(encoding="utf-8"))


def mysfits() -> list[dict[str, Any]]:
    return load("mysfits.json")["mysfits"]


def mysfit_by_label(label: int) -> dict[str, Any]:
    return next(m for m in mysfits() if m["label"] == label)


def mysfit_by_id(mysfit_id: str) -> dict[str, Any] | None:
    return next((m for m in mysfits() if m["mysfitId"] == mysfit_id), None)


def questions() -> list[dict[str, Any]]:
    return load("questionnaire.json")["questions"]


def answer_values() -> list[int]:
    """The values every question accepts (the same for all five)."""
    return sorted({option["value"] for question in questions() for option in question["options"]})
