"""`mysfits teardown`: everything recorded, then the stack's leftovers, backwards through the graph."""

from __future__ import annotations

from .. import ui
from ..engine import Context, Resource, is_pending
from ..runner import Target, destroy, teardown_targets
from ..stack import GRAPH
from ..state import node_of

# Uploaded data and model artifacts survive a teardown unless --purge-data asks otherwise.
DATA_KINDS = frozenset({"s3-data", "s3-bucket"})


def targets(ctx: Context, purge_data: bool) -> dict[str, list[Target]]:
    """What teardown would delete, by part of the stack; without --purge-data, records of data that is gone
    already are forgotten all the same (there is nothing left to keep)."""
    found = teardown_targets(ctx, GRAPH, skip_kinds=frozenset() if purge_data else DATA_KINDS, sweep=True)
    if not purge_data:
        for key, record in ctx.state.items():
            if record.get("kind") in DATA_KINDS and _gone(ctx, record):
                node = GRAPH.node_for(node_of(key), record.get("kind"))
                found.setdefault(node.key, []).append(Target(key, record))
    return found


def _gone(ctx: Context, record: dict) -> bool:
    cls = Resource.registry[record["kind"]]
    if is_pending(record):
        return False
    try:
        return cls.status(ctx, record) is None
    except Exception:  # noqa: BLE001 - what cannot be read is kept, as data is by default
        return False


def teardown(ctx: Context, purge_data: bool, found: dict[str, list[Target]] | None = None) -> list[tuple[str, str]]:
    failures = destroy(ctx, GRAPH, found if found is not None else targets(ctx, purge_data))
    if not failures:
        for name in list(ctx.state.outputs):
            ctx.state.drop_output(name)
    kept = [r["name"] for _, r in ctx.state.items() if r.get("kind") in DATA_KINDS]
    if kept and not purge_data:
        ui.warn(f"Kept the training data and model artifacts ({', '.join(kept)}); `mysfits teardown --purge-data` removes them")
    return failures
