"""`mysfits teardown`: everything recorded, then the stack's leftovers, in reverse dependency order."""

from __future__ import annotations

from .. import ui
from ..engine import Context, destroy

# Uploaded data and model artifacts survive a teardown unless --purge-data asks otherwise.
DATA_KINDS = frozenset({"s3-data", "s3-bucket"})


def teardown(ctx: Context, purge_data: bool) -> list[tuple[str, str]]:
    failures = destroy(ctx, skip_kinds=frozenset() if purge_data else DATA_KINDS)
    for label, reason in failures:
        ui.fail(f"{label}: {reason}")
    if not failures:
        for name in list(ctx.state.outputs):
            ctx.state.drop_output(name)
    kept = [r["name"] for r in ctx.state.resources.values() if r.get("kind") in DATA_KINDS]
    if kept and not purge_data:
        ui.warn(f"Kept the training data and model artifacts ({', '.join(kept)}); `mysfits teardown --purge-data` removes them")
    return failures
