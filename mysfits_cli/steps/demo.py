"""`mysfits demo`: the whole module on the local cloud — brought up, asked, and torn down.

It runs on a stack of its own, so the user's stacks on the local cloud (their settings, their data,
the page they published on the site) are never adopted, changed or torn down by it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import ui
from ..engine import Context
from ..errors import MysfitsError
from ..options import TrainOptions, UpOptions
from ..recommend import via_api
from ..stack import GRAPH, up
from ..summary import show_billing, show_outcome
from .recommendations import ROUTE, curl_example
from .teardown import teardown
from .web import PAGE_KEY

DEMO_STACK = "mysfits-demo"
# A few answer sets to ask the service; the first is the workshop's own example.
SAMPLE_ANSWERS = ([1, 2, 3, 4, 5], [8, 8, 8, 8, 8], [1, 1, 1, 1, 1], [4, 7, 2, 6, 3], [6, 3, 8, 1, 7])


@dataclass(frozen=True)
class DemoOptions:
    rows: int = 1_000_000
    seed: int = 42
    keep: bool = False
    resume: str = "mysfits demo"  # the command that carries on after an interruption


def run_demo(ctx: Context, opts: DemoOptions) -> None:
    """`up` of every part, a few questions to the recommendations API, then teardown, and how long each part took.

    With `keep`, nothing is torn down and the demo ends with the URLs to try.
    """
    if not ctx.settings.local:
        raise MysfitsError("The demo runs only on the local cloud")
    site_bucket, skip = _site(ctx)
    ui.err.rule("[bold]up: every part, independent ones side by side")
    started = time.perf_counter()
    outcome = up(ctx, UpOptions(train=TrainOptions(rows=opts.rows, seed=opts.seed), site_bucket=site_bucket), skip=skip)
    show_outcome(outcome, GRAPH)
    if outcome.interrupted:
        raise ui.Interrupted(f"Interrupted. Everything created so far is recorded: `{opts.resume}` carries on from here")
    show_billing(ctx, outcome, GRAPH, always=True)
    if not outcome.ok:
        raise MysfitsError("The demo stack did not come up (see above). The local cloud keeps what did, to look at: "
                           "`mysfits status`; `mysfits teardown --yes` then `mysfits local stop` remove it")
    timings = _part_timings(outcome) + [("up, wall time", time.perf_counter() - started)]

    reco_url = f"{ctx.state.outputs['recommendations_api_url']}{ROUTE}"
    ui.err.rule("[bold]ask the recommendations API")
    rows = []
    for answers in SAMPLE_ANSWERS:
        mysfit = via_api(reco_url, answers)
        rows.append((" ".join(map(str, answers)), mysfit["name"], mysfit["species"]))
    ui.table("Recommendations through POST /recommendations", ["answers", "mysfit", "species"], rows)
    if opts.keep:
        _show_timings(timings)
        _try_it(ctx, reco_url)
        return
    ui.err.rule("[bold]teardown")
    started = time.perf_counter()
    failures = teardown(ctx, purge_data=True)
    if failures:
        raise MysfitsError(f"{len(failures)} resource(s) could not be deleted: run `mysfits teardown --yes`")
    ui.done("Tore the demo stack down: `mysfits demo --keep` leaves it running, to try its URLs, the site "
            "and `mysfits recommend 1 2 3 4 5`")
    _show_timings(timings + [("teardown", time.perf_counter() - started)])


def _show_timings(timings: list[tuple[str, float]]) -> None:
    ui.table("Time per part", ["part", "seconds"], [(title, f"{seconds:.1f}") for title, seconds in timings])


def _site(ctx: Context) -> tuple[str | None, list[str]]:
    """The local cloud's site (in either of the workshop's layouts), and the parts the demo skips: its page, when
    the site shows the page of another stack, which it leaves as it is."""
    from ..local.seed import SITE_LAYOUTS, bucket_name
    from ..resources.website import other_publisher
    from ..site import served_site

    buckets = {b["Name"] for b in ctx.aws.client("s3").list_buckets().get("Buckets", [])}
    bucket = next((name for layout in SITE_LAYOUTS if (name := bucket_name(ctx.aws.account_id, layout)) in buckets),
                  None)
    if bucket is None:
        return None, []  # `up web` says what is missing
    publisher = other_publisher(ctx, served_site(ctx, bucket), recorded=ctx.state.get(PAGE_KEY) is not None)
    if publisher is None:
        return bucket, []
    ui.warn(f"The site shows the page of {publisher}: the demo leaves it as it is, and publishes no page of its own")
    return bucket, ["web"]


def _part_timings(outcome) -> list[tuple[str, float]]:
    """Each part's busy time: from its first node's start to its last node's end, as the sum of its nodes."""
    totals: dict[str, float] = {}
    for result in outcome.results.values():
        part = result.node.part or "shared"
        totals[part] = totals.get(part, 0.0) + result.seconds
    return [(part, totals[part]) for part in GRAPH.parts + ["shared"] if part in totals]


def _try_it(ctx: Context, reco_url: str) -> None:
    outputs = ctx.state.outputs
    ui.done("Everything is left running (--keep); `mysfits teardown --yes` removes it, "
            "`mysfits status` shows it and what it would cost on AWS")
    ui.out.print("\n[bold]Try it[/]")
    for label, value in (
        ("Mysfits API", f"{outputs.get('mysfits_api_url')}/mysfits"), ("Recommendations API (POST)", reco_url),
        ("Site", outputs.get("website_url")), ("curl", curl_example(reco_url)),
        ("CLI", ui.with_global_options("`mysfits recommend 1 2 3 4 5`").strip("`")),
    ):  # each on a line of its own, to click or copy
        if value is None:
            continue  # no page of its own: the site shows another stack's
        ui.out.print(f"  {label}:", highlight=False)
        ui.out.print(f"    {value}", highlight=False, markup=False)
