"""What `up` did and what `plan` would do, a line per part or per resource, fit for 80 columns.

Long lines wrap at spaces under their own column: a name or URL is never cut in two.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text

from . import billing, layout, ui
from .engine import Context
from .graph import Graph
from .runner import Outcome, PlannedNode
from .state import node_of

SYMBOLS = {"done": ("✓", "green"), "failed": ("✗", "red"), "blocked": ("–", "yellow"), "interrupted": ("!", "yellow"),
           "not started": ("–", "yellow")}
PART_WIDTH = 16
NBSP = "\xa0"  # keeps a resource's kind and name on one line when a line wraps


def part_lines(outcome: Outcome, graph: Graph) -> list[tuple[str, str, str]]:
    """(part, outcome, what happened) for each part of the stack that was selected."""
    lines = []
    for part in graph.parts:
        results = sorted((r for r in outcome.results.values() if r.node.part == part),
                         key=lambda r: graph.position[r.node.key])
        if not results:
            continue
        bad = next((r for r in results if r.outcome != "done"), None)
        if bad is not None:
            lines.append((part, bad.outcome, f"{bad.node.title}: {bad.reason or bad.outcome}"))
            continue
        by_action: dict[str, list[str]] = {}
        for result in results:
            for label, action in result.actions:
                if action != "unchanged":
                    by_action.setdefault(action, []).append(label.replace(" ", NBSP, 1))
        changed = "; ".join(f"{action} {', '.join(labels)}" for action, labels in by_action.items())
        lines.append((part, "done", changed or "up to date, nothing changed"))
    return lines


def show_outcome(outcome: Outcome, graph: Graph) -> None:
    """One line per part: created, updated, up to date, failed and why, or waiting on what failed."""
    width = ui.err.width
    for part, result, text in part_lines(outcome, graph):
        text = ui.with_global_options(text)
        symbol, style = SYMBOLS[result]
        head = f"{symbol} {part:<{PART_WIDTH}} "
        body = [line.replace(NBSP, " ") for line in layout.wrapped(text, width, len(head))]
        first = body[0][len(head):] if body else ""
        ui.err.print(Text.assemble((symbol, style), " ", (f"{part:<{PART_WIDTH}}", "bold"), " ", first))
        for line in body[1:]:
            ui.err.print(line, highlight=False, markup=False)


def show_next_step(outcome: Outcome, resume: str, running: list[str] = (), place: str = "AWS") -> None:
    """What is left to do, as the last lines of a walk that did not finish: after an interruption, what keeps
    running (`running`) on `place` and how to carry on; after a failure, what failed and the command that carries on."""
    if outcome.interrupted:
        where = "Still running on AWS, and billing" if place == "AWS" else f"Still running on {place} (nothing bills there)"
        for line in running:
            ui.warn(f"{where}: {line}".format(up=resume, teardown="mysfits teardown"))
        ui.warn(f"Interrupted. Everything created so far is recorded; `{resume}` carries on from here")
        return
    failures = outcome.failures
    if not failures:
        return
    failed = " and ".join(f"the {result.node.noun}" for result in failures)
    options = list(dict.fromkeys(option for result in failures for option in result.options))
    if options:
        flags = ", ".join(options[:-1]) + (" or " if len(options) > 1 else "") + options[-1]
        ui.warn(f"{failed[0].upper()}{failed[1:]} failed on its settings (see above): run `{resume}` again with "
                f"another {flags}; the parts that did not fail are up")
    else:
        ui.warn(f"{failed[0].upper()}{failed[1:]} failed (see above): fix it, then `{resume}` carries on from here; "
                "the parts that did not fail are up")


ACTION_STYLES = {"create": "green", "replace": "red", "update": "yellow", "run": "cyan", "fail": "red", "blocked": "red"}


def show_plan(planned: list[PlannedNode], where: str = "") -> None:
    """One line per node, in the order `up` runs them: number, action, part, resource, and why."""
    width = ui.out.width
    counts = Counter(item.change.action for item in planned)
    tally = ", ".join(f"{counts[action]} to {action}" for action in ("create", "replace", "update", "run") if counts[action])
    ui.out.print(Text(f"Plan: {tally or 'nothing to change'}", "bold"))
    for line in layout.wrapped(f"{where + '; i' if where else 'I'}n the order up runs it, independent parts side by side.",
                               width, 0):
        ui.out.print(line, highlight=False, markup=False)
    number_width = len(str(len(planned)))
    action_width = max((len(item.change.action) for item in planned), default=0)
    part_width = max((len(item.node.part or "shared") for item in planned), default=0)
    for number, item in enumerate(planned, start=1):
        change = item.change
        detail = ", ".join(change.fields)
        if change.note:
            detail = f"{detail}: {change.note}" if detail else change.note
        if item.usage is not None:
            detail = f"{detail}; {item.usage.priced_instances()}" if detail else item.usage.priced_instances()
        head = f"{number:>{number_width}}  {change.action:<{action_width}}  {(item.node.part or 'shared'):<{part_width}}  "
        text = ui.with_global_options(f"{item.node.title}  {detail}" if detail else item.node.title)
        body = layout.wrapped(text, width, len(head))
        action = (f"{change.action:<{action_width}}", ACTION_STYLES.get(change.action, ""))
        ui.out.print(Text.assemble(f"{number:>{number_width}}  ", action,
                                   f"  {(item.node.part or 'shared'):<{part_width}}  ", body[0][len(head):]))
        for line in body[1:]:
            ui.out.print(line, highlight=False, markup=False)
    _plan_cost(planned, width)


def _plan_cost(planned: list[PlannedNode], width: int) -> None:
    """What bills by the hour once the plan is applied; a training job bills only while it trains."""
    usages = [item.usage for item in planned if item.usage is not None and item.change.action not in ("fail", "blocked")]
    if not usages:
        return
    steady = billing.Bill([u for u in usages if u.use != "training"])
    parts = [f"Once up: {steady.rate()} for " + ", ".join(
        f"the {billing.NOUNS[u.kind]} ({u.priced_instances()})" for u in steady.usages)] if steady.usages else []
    parts += [f"while it trains (minutes), the training job: {u.priced_instances()}" for u in usages if u.use == "training"]
    sources = billing.Bill(usages).source()
    for line in layout.wrapped(f"{'; '.join(parts)}. Prices: {sources}.", width, 0):
        ui.out.print(line, highlight=False, markup=False)


def show_billing(ctx: Context, outcome: Outcome, graph: Graph, always: bool = False) -> None:
    """What bills by the hour among the parts brought up, and at what rate; said when something started
    billing in this run (or `always`)."""
    parts = {result.node.part for result in outcome.results.values()}
    created = {label for result in outcome.results.values() for label, action in result.actions if action == "created"}
    records = [record for key, record in ctx.state.items()
               if billing.billable(record) and getattr(graph.node_for(node_of(key), record.get("kind")), "part", None) in parts]
    bill = billing.bill_for(ctx, records)
    started = [u for u in bill.usages if f"{u.kind} {u.name}" in created]
    if not bill.usages or not (started or always):
        return
    for usage in bill.usages:
        if bill.stand_in:  # it runs, and would bill on AWS; here nothing bills
            verb = "Started (billed by the hour on AWS)" if usage in started else "Running (billed by the hour on AWS)"
        else:
            verb = "Started billing" if usage in started else "Billing"
        _notice(f"{verb}: {usage.label}, {usage.priced_instances()}")
    until = " on AWS" if bill.stand_in else " until `mysfits teardown`"
    _notice(f"Together {bill.rate()}{until}. Prices: {bill.source()}." if bill.known
            else f"No price is known for {'it' if len(bill.usages) == 1 else 'them'}. Prices: {bill.source()}.")


def _notice(text: str) -> None:
    """A warning wrapped at spaces under its own text, so names stay whole on a narrow terminal."""
    lines = layout.wrapped(ui.with_global_options(text), ui.err.width, 2)
    ui.err.print(Text.assemble(("!", "yellow"), lines[0][1:]))
    for line in lines[1:]:
        ui.err.print(line, highlight=False, markup=False)
