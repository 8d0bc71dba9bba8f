"""`mysfits status`: what the state records, checked against what is live."""

from __future__ import annotations

from typing import Any

from .. import ui
from ..engine import Context, Resource
from ..failures import describe
from ..resources import load_all

def collect(ctx: Context) -> dict[str, Any]:
    load_all()
    resources = []
    for key, record in ctx.state.resources.items():
        cls = Resource.registry.get(record.get("kind", ""))
        try:
            live = cls.status(ctx, record) if cls else "unknown kind"
        except Exception as exc:  # noqa: BLE001 - status reports, it does not stop
            live = f"unreadable: {describe(exc)}"
        resources.append({
            "key": key,
            "kind": record.get("kind"),
            "name": record.get("name"),
            "id": record.get("id"),
            "arn": record.get("arn"),
            "live": live or "MISSING",
            "missing": live is None,
            "delete_error": record.get("delete_error"),
        })
    return {
        "stack": ctx.stack,
        "region": ctx.aws.region,
        "account": ctx.aws.account_id,
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
        # ARNs are long: the table shows names and short ids, `status --json` has everything.
        name = item["name"] if item["id"] in (None, item["name"]) else f"{item['name']} ({item['id']})"
        rows.append((item["kind"], name, live))
    title = f"Stack {report['stack']} in {report['region']} (account {report['account']})"
    if rows:
        ui.table(title, ["kind", "name", "live state"], rows)
    else:
        ui.out.print(f"{title}: nothing recorded.")
    if report["outputs"]:
        ui.table("URLs and outputs", ["output", "value"], sorted(report["outputs"].items()))
