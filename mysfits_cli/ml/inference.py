"""SageMaker k-NN inference protocol: request bodies in, response bodies out.

Requests (Content-Type): ``text/csv`` (one row per line; ``label_size=1`` drops a
leading label column), ``application/json`` (``{"instances": [{"features": [...]}, ...]}``,
an instance may also be ``{"data": {"features": {"values": [...]}}}``),
``application/jsonlines`` (one such instance per line) and
``application/x-recordio-protobuf``.

Responses (Accept): ``application/json`` (the default), ``application/jsonlines`` and
``application/x-recordio-protobuf``; ``; verbose=true`` adds each prediction's
neighbours: their ``labels`` and their Euclidean ``distances``, nearest first.
"""

from __future__ import annotations

import json
import math

import numpy as np

from mysfits_cli.ml import recordio, textio
from mysfits_cli.ml.knn import KnnModel

CSV, JSON, JSONLINES, RECORDIO = "text/csv", "application/json", "application/jsonlines", "application/x-recordio-protobuf"
REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO)
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO)


class InferenceError(ValueError):
    """The request cannot be answered; the message says why."""


def _media_type(value: str | None) -> tuple[str, dict[str, str]]:
    base, *params = (value or "").split(";")
    pairs = (p.split("=", 1) for p in params if "=" in p)
    return base.strip().lower(), {k.strip().lower(): v.strip().strip('"').lower() for k, v in pairs}


def parse_request(body: bytes, content_type: str) -> np.ndarray:
    """The (n, d) float64 feature rows of a request body."""
    media, params = _media_type(content_type)
    if media == CSV:
        rows = _parse_csv(body, params.get("label_size", "0"))
    elif media == JSON:
        document = _json(body, "request body")
        if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
            raise InferenceError('an application/json request must be {"instances": [{"features": [...]}, ...]}')
        rows = [_instance(item, f"instance {i}") for i, item in enumerate(document["instances"])]
    elif media in (JSONLINES, "application/jsonl"):
        lines = [line for line in bytes(body).split(b"\n") if line.strip()]
        rows = [_instance(_json(line, f"line {i}"), f"line {i}") for i, line in enumerate(lines, start=1)]
    elif media == RECORDIO:
        try:
            rows = recordio.decode(body)[0]
        except ValueError as error:
            raise InferenceError(f"bad application/x-recordio-protobuf body: {error}") from None
    else:
        raise InferenceError(f"unsupported content type {content_type!r}; use one of {', '.join(REQUEST_TYPES)}")
    return _matrix(rows)


def _parse_csv(body: bytes, label_size: str) -> np.ndarray:
    if label_size not in ("0", "1"):
        raise InferenceError(f"label_size must be 0 or 1, got {label_size}")
    text = textio.normalise(bytes(body))
    if not text:
        raise InferenceError("the request has no rows")
    try:
        rows = textio.parse_float_rows(text)
    except ValueError as error:
        raise InferenceError(f"bad text/csv body: {error}") from None
    return rows[:, int(label_size) :]


def _json(raw: bytes, where: str):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InferenceError(f"{where} is not valid JSON: {error}") from None


def _instance(item, where: str) -> list:
    if isinstance(item, dict) and "features" in item:
        values = item["features"]
    elif isinstance(item, dict) and isinstance(item.get("data"), dict) and isinstance(item["data"].get("features"), dict):
        values = item["data"]["features"].get("values")
    else:
        raise InferenceError(f'{where} must be {{"features": [...]}} or {{"data": {{"features": {{"values": [...]}}}}}}')
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise InferenceError(f"{where}: features must be a list of finite numbers")
    return values


def _matrix(rows) -> np.ndarray:
    if len(rows) == 0:
        raise InferenceError("the request has no rows")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or 0 in widths:
        raise InferenceError(f"every row needs the same, non-zero number of features; found {sorted(widths)}")
    matrix = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        raise InferenceError("features must be finite numbers")
    return matrix


def format_response(model: KnnModel, features: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """Predict `features` and render the answer as `accept` asks; (body, content type)."""
    media, params = _choose(accept)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != model.feature_dim:
        width = features.shape[1] if features.ndim == 2 else features.shape
        raise InferenceError(f"the model takes {model.feature_dim} features per row, the request has {width}")
    verbose = params.get("verbose") == "true"
    predicted, labels, distances = model.predict_verbose(features)
    if media == RECORDIO:
        columns = {"predicted_label": predicted.astype(np.float32)}
        if verbose:
            columns |= {"labels": labels.astype(np.float32), "distances": distances.astype(np.float32)}
        return recordio.encode_records({}, columns), RECORDIO
    answers = [{"predicted_label": float(p)} for p in predicted]
    if verbose:
        for answer, row_distances, row_labels in zip(answers, distances.tolist(), labels.tolist()):
            answer["distances"], answer["labels"] = row_distances, row_labels
    if media == JSONLINES:
        return "".join(json.dumps(answer) + "\n" for answer in answers).encode(), JSONLINES
    return json.dumps({"predictions": answers}).encode(), JSON


def _choose(accept: str | None) -> tuple[str, dict[str, str]]:
    """The first response type `accept` lists that we can produce."""
    for option in (accept or "").split(","):
        media, params = _media_type(option)
        if media in ("", "*/*", "application/*"):
            return JSON, params
        if media in RESPONSE_TYPES:
            return media, params
        if media == "application/jsonl":
            return JSONLINES, params
    raise InferenceError(f"unsupported accept type {accept!r}; use one of {', '.join(RESPONSE_TYPES)}")
