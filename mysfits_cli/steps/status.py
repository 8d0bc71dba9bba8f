"""`mysfits status`: every recorded resource with its live state and what it costs, by part of the stack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from .. import billing
from ..engine import Context, Resource, is_complete, is_pending
from ..failures import describe
from ..resources import load_all
from ..stack import GRAPH
from ..state import node_of

PART_TITLES = {
    "api": "Mysfits API", "notebook": "Notebook", "train": "Training", "endpoint": "Endpoint",
    "recommendations": "Recommendations", "web": "Site", None: "Shared",
}
# What `status` shows under each part besides its resources: (output, suffix) of the URLs to open or copy.
PART_URLS = {
    "api": [("mysfits_api_url", "/mysfits")],
    "notebook": [("notebook_console_url", ""), ("repository_clone_url_http", "")],
    "recommendations": [("recommendations_api_url", "/recommendations")],
    "web": [("website_url", "")],
}
# URLs of AWS's own sites (the console, CodeCommit's Git server), which no stand-in serves.
AWS_ONLY_URLS = {"notebook_console_url", "repository_clone_url_http"}
READERS = 8  # status reads each resource in its own thread: the calls wait on the network, not on Python


NOT_CREATED = "not created: interrupted before it was (`mysfits up` carries on)"


def _live(ctx: Context, record: dict[str, Any]) -> tuple[str | None, str | None]:
    """The resource's live state (None: gone), and why it could not be read."""
    cls = Resource.registry.get(record.get("kind", ""))
    if cls is None:
        return None, f"unknown kind {record.get('kind')!r}"
    if not is_complete(record):
        return "being created (id not heard yet)", None
    try:
        live = cls.status(ctx, record)
    except Exception as exc:  # noqa: BLE001 - status reports, it does not stop
        return None, describe(exc)
    return (NOT_CREATED if live is None and is_pending(record) else live), None


def _usage(ctx: Context, record: dict[str, Any]) -> billing.Usage | None:
    try:
        return billing.usage(ctx, record)
    except Exception:  # noqa: BLE001 - the live state says what is wrong; an unreadable bill is just not shown
        return None


def collect(ctx: Context, live_prices: bool = False, now: datetime | None = None) -> dict[str, Any]:
    load_all()
    now = now or billing.now()
    items = sorted(ctx.state.items(), key=lambda item: GRAPH.teardown_position(node_of(item[0]), item[1].get("kind")),
                   reverse=True)
    with ThreadPoolExecutor(READERS) as pool:
        read = list(pool.map(lambda item: (_live(ctx, item[1]), _usage(ctx, item[1])), items))
    lives, usages = [live for live, _ in read], [usage for _, usage in read]
    cache = ctx.state.path.parent
    if live_prices:
        billing.refresh_live(ctx, [u for u in usages if u], cache)
    usages = [billing.priced([u], ctx.aws.region, cache)[0] if u else None for u in usages]
    resources = []
    for (key, record), (live, problem), usage in zip(items, lives, usages):
        node = GRAPH.node_for(node_of(key), record.get("kind"))
        resources.append({
            "key": key,
            "part": node.part if node else None,
            "title": node.title if node else record.get("kind"),
            "kind": record.get("kind"),
            "name": record.get("name"),
            "id": record.get("id"),
            "arn": record.get("arn"),
            "live": f"unreadable: {problem}" if problem else live or "MISSING",
            "missing": live is None and not problem,
            "unreadable": problem is not None,
            "pending": is_pending(record),
            "superseded": key != node_of(key),
            "delete_error": record.get("delete_error"),
            "billing": usage.as_json(now) if usage else None,
        })
    bill = billing.Bill([u for u in usages if u], stand_in=ctx.settings.stand_in)
    return {
        "stack": ctx.stack,
        "region": ctx.aws.region,
        "account": ctx.aws.account_id,
        "target": target(ctx),
        "state_file": str(ctx.state.path),
        "resources": resources,
        "missing": sum(1 for r in resources if r["missing"]),
        "unreadable": sum(1 for r in resources if r["unreadable"]),
        "cost": bill.as_json(now),
        "outputs": dict(ctx.state.outputs),
    }


def target(ctx: Context) -> str:
    """Where the stack lives, in words: the local cloud, an emulator, or AWS."""
    return ctx.settings.stand_in or "AWS"


# ---- the table -------------------------------------------------------------------------------------


def show(report: dict[str, Any], now: datetime | None = None) -> None:
    """The report by part of the stack, fit for the terminal's width (80 columns and up)."""
    from rich.text import Text

    from .. import layout, ui

    now = now or billing.now()
    width = ui.out.width
    header = f"Stack {report['stack']} in {report['region']}, account {report['account']}, on {report['target']}"
    ui.out.print(Text(header, "bold"))
    ui.out.print(f"State file: {report['state_file']}", highlight=False, markup=False)
    if not report["resources"]:
        ui.out.print("Nothing recorded: `mysfits plan` shows what `mysfits up` would create.", highlight=False)
        return
    outputs = report["outputs"]
    for part in [*GRAPH.parts, None]:
        items = [r for r in report["resources"] if r["part"] == part]
        if not items:
            continue
        ui.out.print(Text(PART_TITLES.get(part, str(part)), "bold"))
        for line in layout.rows([_row(item, PART_TITLES.get(part, ""), now) for item in items], width):
            ui.out.print(line)
        urls = [(key, suffix) for key, suffix in PART_URLS.get(part, []) if outputs.get(key)]
        if report["target"] != "AWS" and any(key in AWS_ONLY_URLS for key, _ in urls):
            ui.out.print(f"  On AWS only ({report['target']} has no console or Git server of its own):", highlight=False)
        for key, suffix in urls:
            ui.out.print(f"  {outputs[key]}{suffix}", highlight=False, markup=False)  # whole, to click or copy
        if part == "endpoint" and outputs.get("accuracy") is not None:
            ui.out.print(f"  test accuracy {outputs['accuracy']:.4f}" + (
                f" (Bayes-optimal {outputs['bayes_optimal_accuracy']:.4f})" if outputs.get("bayes_optimal_accuracy") else ""),
                highlight=False)
    _show_cost(report, width)
    if report["missing"]:
        ui.warn(f"{report['missing']} recorded resource{'s are' if report['missing'] > 1 else ' is'} gone (MISSING): "
                "`mysfits up` brings the stack back, `mysfits teardown --yes` forgets what is gone")
    if report["unreadable"]:
        ui.warn(f"{report['unreadable']} recorded resource{'s' if report['unreadable'] > 1 else ''} could not be "
                "read (see above)")


def _row(item: dict[str, Any], part_title: str, now: datetime):
    from .. import layout

    label = item["title"]
    if part_title and label.startswith(part_title + " "):  # "Training job" under Training reads "Job"
        label = label[len(part_title) + 1:]
        label = label[0].upper() + label[1:]
    name = item["name"] or item["id"] or ""
    if item["id"] and item["id"] != item["name"] and not str(item["id"]).startswith(("arn:", "s3://")):
        name = f"{name} ({item['id']})"
    state, style = item["live"], ""
    if item["missing"]:
        state, style = "MISSING (recorded, but gone)", "red"
    elif item["unreadable"]:
        style = "red"
    elif item["delete_error"]:
        state, style = f"{state} (delete failed: {item['delete_error']})", "red"
    return layout.Row(label, name, state, style, _bill_note(item["billing"], now))


def _bill_note(bill: dict[str, Any] | None, now: datetime) -> str:
    from .. import layout, pricing

    if not bill:
        return ""
    note = f"{bill['instance_count']} × {bill['instance_type']}, "
    note += pricing.UNKNOWN if bill["usd_per_hour"] is None else pricing.format_rate(bill["usd_per_hour"])
    if bill["since"]:
        note += f", since {layout.short_time(datetime.fromisoformat(bill['since']), now)}"
        if bill["usd_so_far"] is not None:
            note += f": {pricing.format_money(bill['usd_so_far'])}"
    return note


def _show_cost(report: dict[str, Any], width: int) -> None:
    from .. import layout, pricing, ui

    cost = report["cost"]
    running = [r for r in report["resources"] if r["billing"]]
    ui.out.print()
    if not running:
        ui.out.print("Cost: nothing bills by the hour (no notebook, endpoint or training job runs).", highlight=False)
        return
    count, unknown = len(running), len(cost["unknown_prices"])
    known = count - unknown
    things = f"{count} running SageMaker resource{'s' if count > 1 else ''}"
    if not known:
        text = f"Cost: price unknown for the {things}."
    else:
        text = f"Cost: {pricing.format_rate(cost['usd_per_hour'])} for "
        text += f"the {things}" if not unknown else f"{known} of the {things} (price unknown for {unknown})"
        text += f"; {pricing.format_money(cost['usd_so_far'])} since {'it was' if count == 1 else 'they were'} created."
    text += f" Prices: {cost['source']}."
    for line in layout.wrapped(text, width, 0):
        ui.out.print(line, highlight=False, markup=False)
