"""What `up` did and what `plan` would do, one line per part or per resource, fit for 80 columns."""

from __future__ import annotations

from . import ui
from .graph import Graph
from .runner import Outcome, PlannedNode

SYMBOLS = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "blocked": "[yellow]–[/]", "interrupted": "[yellow]![/]",
           "not started": "[yellow]–[/]"}


def part_lines(outcome: Outcome, graph: Graph) -> list[tuple[str, str, str]]:
    """(part, symbol, what happened) for each part of the stack that was selected."""
    lines = []
    for part in graph.parts:
        results = sorted((r for r in outcome.results.values() if r.node.part == part),
                         key=lambda r: graph.position[r.node.key])
        if not results:
            continue
        bad = next((r for r in results if r.outcome != "done"), None)
        if bad is not None:
            lines.append((part, SYMBOLS[bad.outcome], f"{bad.node.title}: {bad.reason or bad.outcome}"))
            continue
        changed = [f"{action} {label}" for r in results for label, action in r.actions if action != "unchanged"]
        lines.append((part, SYMBOLS["done"], "; ".join(changed) if changed else "up to date, nothing changed"))
    return lines


def show_outcome(outcome: Outcome, graph: Graph, resume: str, running: list[str] = ()) -> None:
    """One line per part; `running` says what keeps running (and billing) after an interruption."""
    for part, symbol, text in part_lines(outcome, graph):
        ui.err.print(f"{symbol} [bold]{part:<16}[/] {text}", highlight=False)
    if outcome.interrupted:
        for line in running:
            ui.warn(f"Still running on AWS, and billing: {line}".format(up=resume, teardown="mysfits teardown"))
        ui.warn(f"Interrupted. Everything created so far is recorded; `{resume}` carries on from here")
    elif not outcome.ok:
        ui.warn(f"Parts that did not fail are up. Fix what failed, then `{resume}` carries on from here")


ACTION_STYLES = {"create": "green", "replace": "red", "update": "yellow", "run": "cyan", "fail": "red", "blocked": "red"}


def show_plan(planned: list[PlannedNode]) -> None:
    rows = []
    for number, item in enumerate(planned, start=1):
        change = item.change
        style = ACTION_STYLES.get(change.action)
        action = f"[{style}]{change.action}[/]" if style else change.action
        detail = ", ".join(change.fields)
        if change.note:
            detail = f"{detail}: {change.note}" if detail else change.note
        rows.append((str(number), item.node.part or "shared", item.node.title, action, detail))
    ui.table("Plan (in the order it runs; independent parts run side by side)",
             ["#", "part", "resource", "action", "detail"], rows)
