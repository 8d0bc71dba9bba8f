"""`mysfits demo`: the whole module on the local cloud — built, trained, served, asked, and torn down."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import ui
from ..engine import Context
from ..errors import MysfitsError
from ..recommend import via_api
from .api import up_api
from .endpoint import deploy_endpoint, evaluate_endpoint, show_report
from .notebook import up_notebook
from .recommendations import curl_example, up_recommendations
from .teardown import teardown
from .train import TrainOptions, train
from .web import up_web

# A few answer sets to ask the service; the first is the workshop's own example.
SAMPLE_ANSWERS = ([1, 2, 3, 4, 5], [8, 8, 8, 8, 8], [1, 1, 1, 1, 1], [4, 7, 2, 6, 3], [6, 3, 8, 1, 7])


@dataclass(frozen=True)
class DemoOptions:
    rows: int = 1_000_000
    seed: int = 42
    keep: bool = False


def run_demo(ctx: Context, opts: DemoOptions) -> list[tuple[str, float]]:
    """Every step in order; returns how long each took."""
    if not ctx.settings.local:
        raise MysfitsError("The demo runs only on the local cloud")
    timings: list[tuple[str, float]] = []

    def timed(title: str, action):
        ui.err.rule(f"[bold]{title}")
        started = time.perf_counter()
        result = action()
        timings.append((title, time.perf_counter() - started))
        return result

    api_url = timed("up api", lambda: up_api(ctx, None, None, False))
    timed("up notebook", lambda: up_notebook(ctx, "ml.t2.medium", None))
    timed("train", lambda: train(ctx, TrainOptions(rows=opts.rows, seed=opts.seed, logs=True)))
    timed("deploy-endpoint", lambda: deploy_endpoint(ctx, "ml.m4.xlarge", 1))
    report = timed("evaluate", lambda: evaluate_endpoint(ctx, 100))
    show_report(report)
    reco_url = timed("up recommendations", lambda: up_recommendations(ctx))
    site = timed("up web", lambda: up_web(ctx, None))

    ui.err.rule("[bold]ask the recommendations API")
    rows = []
    for answers in SAMPLE_ANSWERS:
        mysfit = via_api(reco_url, answers)
        rows.append((" ".join(map(str, answers)), mysfit["name"], mysfit["species"], mysfit["mysfitId"]))
    ui.table("Recommendations through POST /recommendations", ["answers", "mysfit", "species", "id"], rows)
    ui.out.print("\n[bold]Try it[/]", soft_wrap=True)
    for label, value in (
        ("Mysfits API", api_url), ("Recommendations API", reco_url), ("Website", site),
        ("curl", curl_example(reco_url)), ("CLI", "mysfits --local recommend 1 2 3 4 5"),
    ):
        ui.out.print(f"  {label + ':':<21}{value}", soft_wrap=True, highlight=False)
    if opts.keep:
        ui.done("Everything is left running (--keep); `mysfits --local teardown --yes` removes it")
    else:
        timed("teardown", lambda: _teardown(ctx))
    return timings


def _teardown(ctx: Context) -> None:
    failures = teardown(ctx, purge_data=True)
    if failures:
        raise MysfitsError(f"{len(failures)} resource(s) could not be deleted: run `mysfits --local teardown --yes`")
    ui.done("Tore the demo stack down (run with --keep to leave it running)")
