"""Walk the graph: apply (each node as soon as what it needs is ready), plan, and destroy (backwards).

Independent chains run side by side, each node in a thread of its own, each on its own line
of the progress board. A node that fails stops what depends on it; the others go on. Ctrl-C
stops waiting at once, starts nothing new, and leaves a state file that records every
resource created (each create is preceded by its intent).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import engine, ui
from .engine import Change, Context, Record
from .errors import MysfitsError
from .graph import Graph, Node, Run, Selection
from .state import node_of

# After Ctrl-C, how long the running nodes get to finish the AWS call they are in.
STOP_GRACE_SECONDS = 30.0
PLANNERS = 8  # nodes `plan` reads at once: each waits on AWS, not on Python


@dataclass
class NodeResult:
    node: Node
    outcome: str  # done | failed | blocked | interrupted | not started
    output: Any = None
    actions: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0
    options: tuple[str, ...] = ()  # the options whose values caused the failure (OptionError)


@dataclass
class Outcome:
    results: dict[str, NodeResult]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(r.outcome == "done" for r in self.results.values())

    @property
    def failures(self) -> list[NodeResult]:
        return [r for r in self.results.values() if r.outcome == "failed"]


# ---- apply ---------------------------------------------------------------------------------------


def external_outputs(ctx: Context, selection: Selection, command: Callable[[Node], str]) -> dict[str, Any]:
    """What the selected nodes need from parts not selected: their records, as the state has them."""
    outputs: dict[str, Any] = {key: None for key in selection.disabled}
    missing: list[Node] = []
    for node in selection.external:
        record = ctx.state.get(node.key)
        if record is None or engine.is_pending(record):
            missing.append(node)
        else:
            outputs[node.key] = node.from_state(ctx, record) if node.from_state else record
    if missing:
        titles = " and ".join(node.noun for node in missing)
        commands = " and ".join(dict.fromkeys(f"`mysfits {command(node)}`" for node in missing))
        verb = "are" if len(missing) > 1 else "is"
        raise MysfitsError(f"This needs the stack's {titles}, which {verb} not up yet: run {commands} first "
                           "(or `mysfits up` for everything)")
    return outputs


def apply(ctx: Context, graph: Graph, selection: Selection, options: Any, outputs: dict[str, Any]) -> Outcome:
    results: dict[str, NodeResult] = {}
    todo = list(selection.nodes)
    running: set[str] = set()
    events: queue.Queue[NodeResult] = queue.Queue()
    selected = set(selection.keys)
    interrupted = False
    ui.board.cancelled.clear()
    try:
        while todo or running:
            for node in [n for n in todo if all(need in outputs for need in n.needs)]:
                todo.remove(node)
                run = Run(ctx, options, {need: outputs[need] for need in node.needs})
                threading.Thread(target=_run_node, args=(ctx, graph, node, run, selected, events),
                                 name=f"node-{node.key}", daemon=True).start()
                running.add(node.key)
            if not running:
                break
            result = _next(events)
            running.discard(result.node.key)
            results[result.node.key] = result
            if result.outcome == "done":
                outputs[result.node.key] = result.output
            else:
                for key in graph.dependents(result.node.key):
                    blocked = next((n for n in todo if n.key == key), None)
                    if blocked is not None:
                        todo.remove(blocked)
                        results[key] = NodeResult(blocked, "blocked", reason=f"needs the {result.node.noun}")
    except KeyboardInterrupt:
        interrupted = True
        ui.board.cancelled.set()
        ui.err.print()
        ui.warn("Interrupted: finishing the calls in flight (Ctrl-C again to quit at once)")
        try:
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while running and time.monotonic() < deadline:
                try:
                    result = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                running.discard(result.node.key)
                results[result.node.key] = result
        except KeyboardInterrupt:
            os._exit(130)
        for key in running:
            results[key] = NodeResult(graph[key], "interrupted", reason="still in an AWS call")
    for node in todo:
        results.setdefault(node.key, NodeResult(node, "not started"))
    return Outcome(results, interrupted)


def _next(events: queue.Queue) -> NodeResult:
    while True:
        try:
            return events.get(timeout=0.25)
        except queue.Empty:
            continue


def _run_node(ctx: Context, graph: Graph, node: Node, run: Run, selected: set[str], events: queue.Queue) -> None:
    started = time.monotonic()
    with engine.journal() as actions, ui.activity(node.title):
        try:
            output = node.apply(run)
            _sweep_retired(ctx, graph, node, selected)
            result = NodeResult(node, "done", output, list(actions))
        except ui.Interrupted:
            result = NodeResult(node, "interrupted", actions=list(actions), reason="interrupted")
        except MysfitsError as exc:
            result = NodeResult(node, "failed", actions=list(actions), reason=str(exc),
                                options=getattr(exc, "options", ()))
        except Exception as exc:  # noqa: BLE001 - one failing part must not take the others down
            from .forecast import explain  # a quota or permission AWS refused: with what to do about it

            result = NodeResult(node, "failed", actions=list(actions), reason=explain(ctx, exc) or engine.one_line(exc))
        except BaseException:  # KeyboardInterrupt or SystemExit raised in this thread: the walk must still hear
            result = NodeResult(node, "interrupted", actions=list(actions), reason="interrupted")
    result.seconds = time.monotonic() - started
    if result.outcome == "failed":
        ui.fail(f"{node.title}: {result.reason}")
    events.put(result)


def _sweep_retired(ctx: Context, graph: Graph, finished: Node, selected: set[str]) -> None:
    """Delete superseded records whose replacement now serves (`sweep_after`), dependents first."""
    for node in reversed(graph.order):
        if node.key in selected and (node.sweep_after or node.key) == finished.key:
            for key, record in ctx.state.retired(node.key):
                try:
                    ui.done(f"Superseded: {engine.delete_record(ctx, key, record)}")
                except Exception as exc:  # noqa: BLE001 - kept in the state; the next run tries again
                    ui.warn(f"Could not delete the superseded {record['kind']} {record.get('name')}: "
                            f"{engine.one_line(exc)}")


# What stops each kind of resource that keeps running (and billing, on AWS) by itself.
STOPPED_BY = {
    "training-job": "`{up}` follows it again, `{teardown}` stops it",
    "notebook-instance": "`{teardown}` stops and deletes it",
    "endpoint": "`{teardown}` deletes it",
}


def still_running(ctx: Context) -> list[str]:
    """What keeps running after an interruption: one line each, with what stops it (and, on AWS, its price)."""
    from . import billing

    try:
        bill = billing.bill_for(ctx, [record for _, record in ctx.state.items()])
    except Exception:  # noqa: BLE001 - best effort while the user waits to get their prompt back
        return []
    priced = not ctx.settings.emulated  # a stand-in for AWS bills nothing
    return [f"{usage.label} ({usage.priced_instances() if priced else usage.instances}): {STOPPED_BY[usage.kind]}"
            for usage in bill.usages]


# ---- plan ----------------------------------------------------------------------------------------


@dataclass
class PlannedNode:
    node: Node
    change: Change
    usage: Any = None  # billing.Usage, priced, for what bills by the hour
    permissions: list = field(default_factory=list)  # what it must be allowed to do (permissions.Permission)
    error: Exception | None = None  # why the plan could not read it (action "fail")

    @property
    def starts(self) -> bool:
        """It starts instances anew, which take from the account's quota for their type."""
        return self.usage is not None and self.change.action in self.node.starts


def plan(ctx: Context, graph: Graph, selection: Selection, options: Any, outputs: dict[str, Any]) -> list[PlannedNode]:
    """What apply would do to each selected node, in the order it would do it; no mutating call.

    Like apply, each node is read as soon as what it needs is, independent ones side by side (they
    wait on AWS). A need with no output (an unselected part that is not up) blocks what needs it.
    """
    failed: dict[str, str] = {node.key: node.key for node in selection.external if outputs.get(node.key) is None}
    results: dict[str, PlannedNode] = {}
    todo = list(selection.nodes)
    with ThreadPoolExecutor(PLANNERS) as pool:
        running: dict[Future, Node] = {}
        while todo or running:
            for node in [n for n in todo if all(need in outputs or need in failed for need in n.needs)]:
                todo.remove(node)
                missing = next((need for need in node.needs if need in failed), None)
                if missing:
                    failed[node.key] = missing
                    results[node.key] = PlannedNode(node, Change("blocked", note=f"needs the {graph[missing].noun}"))
                    continue
                run = Run(ctx, options, {need: outputs.get(need) for need in node.needs}, planning=True)
                running[pool.submit(_plan_node, ctx, node, run)] = node
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                node = running.pop(future)
                planned, output = future.result()
                results[node.key] = planned
                if planned.change.action == "fail":
                    failed[node.key] = node.key
                else:
                    outputs[node.key] = output
    return [results[node.key] for node in selection.nodes if node.key in results]


def _plan_node(ctx: Context, node: Node, run: Run) -> tuple[PlannedNode, Any]:
    """One node's change, its output for what needs it, what it bills and what it must be allowed to do."""
    usage, permissions, output, error = None, [], None, None
    try:
        if node.plan is None:
            output, change = node.apply(run), Change("read")
        else:
            change, output = node.plan(run)
        runs_on = node.bills(run) if node.bills else None
        if runs_on:
            usage = _priced_usage(ctx, node, runs_on)
        if node.permissions:
            permissions = node.permissions(run, change)
    except Exception as exc:  # noqa: BLE001 - the plan shows what it could not find out, and goes on
        change = Change("fail", note=str(exc) if isinstance(exc, MysfitsError) else engine.one_line(exc))
        error = exc
    return PlannedNode(node, change, usage, permissions, error), output


def _priced_usage(ctx: Context, node: Node, runs_on: tuple[str, str, int]) -> Any:
    from . import billing

    use, instance_type, count = runs_on
    usage = billing.Usage(node.kind or "", node.title, use, instance_type, count, None)
    return billing.priced([usage], ctx.aws.region, ctx.state.path.parent)[0]


# ---- destroy -------------------------------------------------------------------------------------


@dataclass
class Target:
    key: str | None  # None: found by name or tag, not recorded
    record: Record

    @property
    def label(self) -> str:
        return f"{self.record.get('kind')} {self.record.get('name') or self.record.get('id')}"


def teardown_targets(ctx: Context, graph: Graph, skip_kinds: Iterable[str], sweep: bool) -> dict[str, list[Target]]:
    """What teardown deletes, by node: what the state records and (sweep) what carries the stack's name or tag."""
    from .resources import load_all

    load_all()
    skip = set(skip_kinds)
    targets: dict[str, list[Target]] = {}
    known: set[tuple[str, str]] = set()

    def identities(record: Record) -> set[tuple[str, str]]:
        return {(record.get("kind"), ident) for ident in engine.identities(record)}

    def add(key: str | None, record: Record) -> None:
        node = graph.node_for(node_of(key) if key else None, record.get("kind"))
        if node is None or record.get("kind") in skip:
            return
        targets.setdefault(node.key, []).append(Target(key, record))
        known.update(identities(record))

    for key, record in ctx.state.items():
        add(key, record)
    if sweep:
        for kind, cls in engine.Resource.registry.items():
            if kind in skip:
                continue
            for record in cls.leftovers(ctx):
                if not identities(record) & known:
                    add(None, record)
    return targets


def destroy(ctx: Context, graph: Graph, targets: dict[str, list[Target]]) -> list[tuple[str, str]]:
    """Delete the targets, dependents before what they need, independent nodes side by side.

    Not found counts as deleted; a failure is kept in the state with its reason and does not
    stop the rest, except what AWS will not delete while a failed dependent still exists.
    """
    failures: list[tuple[str, str]] = []
    finished: dict[str, bool] = {}  # node -> all of its targets deleted
    todo = list(reversed(graph.order))
    running: set[str] = set()
    events: queue.Queue[tuple[str, list[tuple[str, str]]]] = queue.Queue()

    def dependents_done(node: Node) -> bool:
        return all(d in finished for d in graph.dependents(node.key))

    while todo or running:
        while ready := [n for n in todo if dependents_done(n)]:
            for node in ready:
                todo.remove(node)
                held_by = [d for d in graph.dependents(node.key) if not finished[d]]
                items = targets.get(node.key, [])
                if node.held_by_dependents and held_by and items:
                    reason = f"kept: the {graph[held_by[0]].noun} could not be deleted, and AWS refuses while it exists"
                    failures.extend((target.label, reason) for target in items)
                    finished[node.key] = False
                elif not items:
                    finished[node.key] = True
                else:
                    threading.Thread(target=_delete_node, args=(ctx, node, items, events), daemon=True).start()
                    running.add(node.key)
        if not running:
            break
        key, node_failures = _next(events)
        running.discard(key)
        failures.extend(node_failures)
        finished[key] = not node_failures
    return failures


def _delete_node(ctx: Context, node: Node, items: list[Target], events: queue.Queue) -> None:
    node_failures: list[tuple[str, str]] = []
    with ui.activity(f"{node.title}: deleting"):
        for target in items:
            ui.board.relabel(f"Deleting {target.label}")  # what a status read while deleting is about
            try:
                ui.done(engine.delete_record(ctx, target.key, target.record))
            except Exception as exc:  # noqa: BLE001 - reported, kept in the state, and the rest goes on
                reason = str(exc) if isinstance(exc, MysfitsError) else engine.one_line(exc)
                node_failures.append((target.label, reason))
                ui.fail(f"{target.label}: {reason}")
    events.put((node.key, node_failures))
