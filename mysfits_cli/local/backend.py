"""The Mysfits service the workshop runs on Fargate behind its NLB, over moto's MysfitsTable.

Same routes and JSON shape as the workshop's Flask service:
  GET  /                                                -> {"message": "Nothing here, used for health check. ..."}
  GET  /mysfits[?filter=GoodEvil|LawChaos&value=<v>]  -> {"mysfits": [...]}
  GET  /mysfits/<id>                                    -> {...one mysfit...}
  POST /mysfits/<id>/like                               -> {"Update": "Success"}
  POST /mysfits/<id>/adopt                              -> {"Update": "Success"}
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from moto.dynamodb.models import dynamodb_backends

from .seed import TABLE_NAME

Response = tuple[int, dict[str, str], bytes]

# The workshop's service enables CORS for every origin (flask_cors).
_HEADERS = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}
_FILTERS = ("GoodEvil", "LawChaos")
# camelCase key of the service's JSON -> attribute of MysfitsTable
_FIELDS = {
    "mysfitId": "MysfitId",
    "name": "Name",
    "species": "Species",
    "description": "Description",
    "age": "Age",
    "goodevil": "GoodEvil",
    "lawchaos": "LawChaos",
    "thumbImageUri": "ThumbImageUri",
    "profileImageUri": "ProfileImageUri",
    "likes": "Likes",
    "adopted": "Adopted",
}
_write_lock = threading.Lock()
# What the workshop's service answers at its root, for the load balancer's health checks.
HEALTH_CHECK = {"message": "Nothing here, used for health check. Try /mysfits instead."}


def handle(account_id: str, region: str, method: str, path: str, query: dict[str, list[str]]) -> Response:
    """Answer one request to the Mysfits service."""
    parts = [p for p in path.split("/") if p]
    method = method.upper()
    if method == "OPTIONS":
        return 200, {**_HEADERS, "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
                     "Access-Control-Allow-Headers": "Content-Type,Authorization"}, b""
    if not parts and method == "GET":
        return _json(200, HEALTH_CHECK)
    if not parts or parts[0] != "mysfits" or len(parts) > 3:
        return _json(404, {"message": f"no route for {method} {path}"})
    db = dynamodb_backends[account_id][region]
    if TABLE_NAME not in db.tables:
        return _json(500, {"message": f"table {TABLE_NAME} does not exist"})
    if len(parts) == 1 and method == "GET":
        return _list(db.tables[TABLE_NAME], query)
    if len(parts) == 1:
        return _json(405, {"message": f"{method} is not allowed on /mysfits"})
    mysfit_id = parts[1]
    item = _item(db, mysfit_id)
    if item is None:
        return _json(404, {"message": f"no mysfit with id {mysfit_id}"})
    if len(parts) == 2 and method == "GET":
        return _json(200, _mysfit(item))
    if len(parts) == 3 and method == "POST" and parts[2] in ("like", "adopt"):
        _update(db, mysfit_id, parts[2])
        return _json(200, {"Update": "Success"})
    return _json(404, {"message": f"no route for {method} {path}"})


def _list(table: Any, query: dict[str, list[str]]) -> Response:
    mysfits = [_mysfit(_plain(item)) for item in list(table.items.values())]
    attribute = (query.get("filter") or [None])[-1]
    if attribute is not None:
        value = (query.get("value") or [None])[-1]
        if attribute not in _FILTERS or value is None:
            return _json(400, {"message": f"filter must be one of {', '.join(_FILTERS)}, with a value"})
        key = next(k for k, v in _FIELDS.items() if v == attribute)
        mysfits = [m for m in mysfits if m[key] == value]
    mysfits.sort(key=lambda m: m["name"])
    return _json(200, {"mysfits": mysfits})


def _item(db: Any, mysfit_id: str) -> dict[str, Any] | None:
    item = db.get_item(TABLE_NAME, {"MysfitId": {"S": mysfit_id}})
    return _plain(item) if item is not None else None


def _update(db: Any, mysfit_id: str, action: str) -> None:
    with _write_lock:
        plain = _item(db, mysfit_id)
        if plain is None:
            return
        if action == "like":
            plain["Likes"] = int(plain.get("Likes", 0)) + 1
        else:
            plain["Adopted"] = True
        db.put_item(TABLE_NAME, _wire(plain))


def _plain(item: Any) -> dict[str, Any]:
    deserialize = TypeDeserializer().deserialize
    values = {k: deserialize(v) for k, v in item.to_json()["Attributes"].items()}
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in values.items()}


def _wire(plain: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in plain.items():
        if isinstance(value, bool):
            out[key] = {"BOOL": value}
        elif isinstance(value, int):
            out[key] = {"N": str(value)}
        else:
            out[key] = {"S": str(value)}
    return out


def _mysfit(plain: dict[str, Any]) -> dict[str, Any]:
    return {key: plain.get(attribute) for key, attribute in _FIELDS.items()}


def _json(status: int, payload: Any) -> Response:
    return status, dict(_HEADERS), json.dumps(payload).encode()
