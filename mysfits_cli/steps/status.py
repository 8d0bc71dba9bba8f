"""`mysfits status`: every recorded resource with its live state, by part of the stack, and the stack's URLs."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..engine import Context, Resource, is_pending
from ..failures import describe
from ..resources import load_all
from ..stack import GRAPH
from ..state import node_of

PART_TITLES = {
    "api": "Mysfits API", "notebook": "Notebook", "train": "Training", "endpoint": "Endpoint",
    "recommendations": "Recommendations", "web": "Site", None: "Shared",
}


def _live(ctx: Context, record: dict[str, Any]) -> str | None:
    cls = Resource.registry.get(record.get("kind", ""))
    if cls is None:
        return "unknown kind"
    if is_pending(record) and "id" not in record:
        return "being created (id not heard yet)"
    try:
        return cls.status(ctx, record)
    except Exception as exc:  # noqa: BLE001 - status reports, it does not stop
        return f"unreadable: {describe(exc)}"


def collect(ctx: Context) -> dict[str, Any]:
    load_all()
    resources = []
    items = sorted(ctx.state.items(), key=lambda item: GRAPH.teardown_position(node_of(item[0]), item[1].get("kind")),
                   reverse=True)
    for key, record in items:
        node = GRAPH.node_for(node_of(key), record.get("kind"))
        live = _live(ctx, record)
        resources.append({
            "key": key,
            "part": node.part if node else None,
            "kind": record.get("kind"),
            "name": record.get("name"),
            "id": record.get("id"),
            "arn": record.get("arn"),
            "live": live or "MISSING",
            "missing": live is None,
            "pending": is_pending(record),
            "superseded": key != node_of(key),
            "delete_error": record.get("delete_error"),
        })
    return {
        "stack": ctx.stack,
        "region": ctx.aws.region,
        "account": ctx.aws.account_id,
        "state_file": str(ctx.state.path),
        "resources": resources,
        "outputs": dict(ctx.state.outputs),
    }


def show(report: dict[str, Any]) -> None:
    rows = []
    for item in report["resources"]:
        live = item["live"]
        if item["missing"]:
            live = "[red]MISSING (recorded, but gone)[/]"
        elif item["delete_error"]:
            live = f"{live} [red](delete failed: {item['delete_error']})[/]"
        name = item["name"] if item["id"] in (None, item["name"]) else f"{item['name']} ({item['id']})"
        rows.append((PART_TITLES.get(item["part"], item["part"]), item["kind"], name, live))
    title = f"Stack {report['stack']} in {report['region']} (account {report['account']})"
    if rows:
        ui.table(title, ["part", "kind", "name", "live state"], rows)
    else:
        ui.out.print(f"{title}: nothing recorded.")
    if report["outputs"]:
        ui.table("URLs and outputs", ["output", "value"], sorted(report["outputs"].items()))
