"""What `plan` says besides its lines per node: the forecast section, and the plan as JSON."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from . import layout, ui
from .engine import Context
from .forecast import Forecast, permission_finding, quota_finding
from .runner import PlannedNode

SYMBOLS = {"ok": ("✓", "green"), "refused": ("✗", "red"), "unchecked": ("!", "yellow")}


def forecast_lines(ctx: Context, found: Forecast) -> list[tuple[str, str]]:
    """(ok | refused | unchecked, text) for each quota the plan needs, the permissions, and what was not checked."""
    lines: list[tuple[str, str]] = []
    for line in found.quotas.lines:
        if line.quota is None:
            continue  # said among what could not be checked
        if line.short:
            lines.append(("refused", quota_finding(ctx, line)))
        else:
            lines.append(("ok", f"{line.name} ({line.quota.code}): needs {line.needed}, {line.in_use} in use, "
                                f"{line.quota.describe()}"))
    if not found.quotas.lines:
        lines.append(("ok", "quotas: this starts no SageMaker instance"))
    check = found.permissions
    if check.note:
        lines.append(("ok", f"permissions: {check.note}"))
    elif check.principal and not check.unchecked:
        if not check.denied:
            lines.append(("ok", f"permissions: the {check.checked} actions this calls are allowed for {check.principal}"))
        lines += [("refused", permission_finding(check.principal, denials)) for denials in found.denied_actions()]
    elif not check.unchecked:
        lines.append(("ok", "permissions: this creates and changes nothing, and what it reads the plan has read"))
    lines += [("refused", read) for read in found.refused_reads]
    lines += [("unchecked", text[0].upper() + text[1:]) for text in found.unchecked()]
    return lines


def show_forecast(ctx: Context, found: Forecast) -> None:
    width = ui.out.width
    ui.out.print(Text("Forecast: what AWS would refuse, checked before anything is created", "bold"))
    for kind, text in forecast_lines(ctx, found):
        symbol, style = SYMBOLS[kind]
        body = layout.wrapped(ui.with_global_options(text), width, 2)
        ui.out.print(Text.assemble((symbol, style), body[0][1:]))
        for line in body[1:]:
            ui.out.print(line, highlight=False, markup=False)


def plan_json(ctx: Context, planned: list[PlannedNode], found: Forecast) -> dict[str, Any]:
    """The plan node by node, what bills once it is applied, and the forecast."""
    from .steps.status import target

    return {
        "stack": ctx.stack, "region": ctx.aws.region, "account": ctx.aws.account_id, "target": target(ctx),
        "nodes": [{
            "key": item.node.key, "part": item.node.part, "title": item.node.title, "action": item.change.action,
            "fields": item.change.fields, "note": item.change.note,
            "billing": None if item.usage is None else {
                "use": item.usage.use, "instance_type": item.usage.instance_type, "instance_count": item.usage.count,
                "usd_per_hour": None if item.usage.price is None else round(item.usage.price.usd_per_hour, 6)},
        } for item in planned],
        "forecast": found.as_json(ctx),
    }
