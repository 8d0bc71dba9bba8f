"""`mysfits teardown`: everything recorded, then the stack's leftovers, backwards through the graph."""

from __future__ import annotations

from .. import ui
from ..engine import Context
from ..runner import Target, destroy, teardown_targets
from ..stack import GRAPH

# Uploaded data and model artifacts survive a teardown unless --purge-data asks otherwise.
DATA_KINDS = frozenset({"s3-data", "s3-bucket"})


def targets(ctx: Context, purge_data: bool) -> dict[str, list[Target]]:
    """What teardown would delete, by part of the stack."""
    return teardown_targets(ctx, GRAPH, skip_kinds=frozenset() if purge_data else DATA_KINDS, sweep=True)


def teardown(ctx: Context, purge_data: bool, found: dict[str, list[Target]] | None = None) -> list[tuple[str, str]]:
    failures = destroy(ctx, GRAPH, found if found is not None else targets(ctx, purge_data))
    if not failures:
        for name in list(ctx.state.outputs):
            ctx.state.drop_output(name)
    kept = [r["name"] for _, r in ctx.state.items() if r.get("kind") in DATA_KINDS]
    if kept and not purge_data:
        ui.warn(f"Kept the training data and model artifacts ({', '.join(kept)}); `mysfits teardown --purge-data` removes them")
    return failures
