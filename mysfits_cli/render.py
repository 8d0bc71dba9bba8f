"""Jinja2 rendering (StrictUndefined) of the packaged templates, with validation of the API documents."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import jinja2

from .errors import MysfitsError

_PACKAGES = {"swagger": "mysfits_cli.swagger", "templates": "mysfits_cli.templates"}


def _load(name: str) -> str:
    folder, _, rest = name.partition("/")
    package = _PACKAGES[folder]
    parts = rest.split("/")
    return files(package).joinpath(*parts).read_text(encoding="utf-8")


_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(_load),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=jinja2.select_autoescape(["html.j2"]),
)


def render(name: str, **context: Any) -> str:
    """Render e.g. `swagger/mysfits-api.json.j2`; a missing value is an error, never an empty string."""
    try:
        return _env.get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise MysfitsError(f"Template {name} needs a value that was not given: {exc}") from exc


def render_openapi(name: str, **context: Any) -> dict[str, Any]:
    """Render an OpenAPI 3 document, check it has no placeholder left, and return it parsed."""
    text = render(name, **context)
    if "REPLACE_ME" in text:
        raise MysfitsError(f"{name} still contains a REPLACE_ME placeholder after rendering")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MysfitsError(f"{name} did not render to valid JSON: {exc}") from exc
