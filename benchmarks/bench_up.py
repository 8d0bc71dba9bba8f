"""`mysfits up` against the same steps one after another, and `plan` against `status`, on the local cloud.

    python benchmarks/bench_up.py [--time-scale 0.01] [--rows 100000] [--min-speedup 1.6]
                                  [--max-critical 1.1] [--max-plan 2] [--repeat 5]

The local cloud runs with its latency model (`--latency aws`): VPC link, notebook instance,
training start-up, endpoint, Lambda and API calls take AWS's durations times the time scale.

* Baseline: the six parts brought up one after another, as the part commands do it (`up api`,
  `up notebook`, `train`, `deploy-endpoint`, `up recommendations`, `up web`), on a stack of its own.
* Ours: `up` of the whole graph, independent chains side by side, on another stack.
* The critical path: the longest chain of the graph, each node taking what it took in that `up`.

Targets: `up` at least --min-speedup times faster than the baseline, and at most --max-critical
times its own critical path. Then, on the stack that is up, `plan` (which must make no mutating
call) against `status`, each a fresh CLI process, median of --repeat: at most --max-plan times.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table  # noqa: E402

from mysfits_cli import ui  # noqa: E402
from mysfits_cli.aws import Aws  # noqa: E402
from mysfits_cli.config import Settings  # noqa: E402
from mysfits_cli.engine import Context  # noqa: E402
from mysfits_cli.local import seed  # noqa: E402
from mysfits_cli.options import TrainOptions, UpOptions  # noqa: E402
from mysfits_cli.stack import GRAPH, plan_for, up  # noqa: E402
from mysfits_cli.state import StateFile  # noqa: E402
from tests.support.cloud import start_server  # noqa: E402

PARTS = ["api", "notebook", "train", "endpoint", "recommendations", "web"]
BASELINE_SITE = "mysfits-bench-steps-website"  # a site page belongs to one stack: the baseline's has its own site


def own_site(server) -> str:
    """An S3 website of its own for the baseline stack's page (the seeded site is the measured stack's)."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BASELINE_SITE)
    s3.put_bucket_website(Bucket=BASELINE_SITE, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    return BASELINE_SITE


def context(server, stack: str, state_dir: Path) -> Context:
    settings = Settings(region="us-east-1", endpoint_url=server.url, stack=stack, state_file=state_dir / f"{stack}.json")
    aws = Aws(settings)
    return Context(settings, aws, StateFile(settings.state_file).load().stack(stack, aws.region, aws.account_id))


def critical_path(outcome) -> float:
    """The longest chain through the graph, each node counted for what it took."""
    finish: dict[str, float] = {}
    for node in GRAPH.order:
        result = outcome.results.get(node.key)
        if result is None:
            continue
        finish[node.key] = result.seconds + max((finish.get(need, 0.0) for need in node.needs), default=0.0)
    return max(finish.values())


def timed_up(ctx: Context, options: UpOptions, only=None):
    started = time.perf_counter()
    outcome = up(ctx, options, only)
    seconds = time.perf_counter() - started
    if not outcome.ok:
        failed = "; ".join(f"{r.node.title}: {r.reason}" for r in outcome.results.values() if r.outcome != "done")
        sys.exit(f"up {only or 'all'} failed: {failed}")
    return seconds, outcome


MUTATING = ("Create", "Put", "Update", "Delete", "Tag", "Untag", "Add", "Remove", "Start", "Stop", "Import", "Copy")


def plan_calls(ctx: Context, options: UpOptions) -> list[str]:
    """The mutating calls `plan` makes on the stack that is up (there must be none)."""
    calls: list[str] = []
    ctx.aws.session.events.register("before-call", lambda model, **_: calls.append(model.name))
    ctx.aws._clients.clear()
    plan_for(ctx, options)
    return [name for name in calls if name.startswith(MUTATING)]


def cli_seconds(server, state_file: Path, *args: str) -> float:
    env = server.env(COLUMNS="120")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mysfits_cli.cli", "--state-file", str(state_file), *args], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.01, help="real seconds per AWS second")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of generated training data")
    parser.add_argument("--min-speedup", type=float, default=1.6)
    parser.add_argument("--max-critical", type=float, default=1.1)
    parser.add_argument("--max-plan", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5, help="CLI runs of plan and of status (the median counts)")
    args = parser.parse_args()
    ui.err.quiet = ui.out.quiet = True
    os.environ.setdefault("MYSFITS_POLL_SECONDS", "0.05")
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # the server's, never yours
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(variable, None)
    options = UpOptions(train=TrainOptions(rows=args.rows, logs=False), site_bucket=seed.bucket_name())

    with tempfile.TemporaryDirectory() as scratch, \
            start_server(strict=True, latency="aws", time_scale=args.time_scale) as server:
        state_dir = Path(scratch)
        sequential = context(server, "steps", state_dir)
        one_by_one = replace(options, site_bucket=own_site(server))
        steps = [(part, timed_up(sequential, one_by_one, [part])[0]) for part in PARTS]
        baseline = sum(seconds for _, seconds in steps)
        parallel = context(server, "mysfits", state_dir)
        wall, outcome = timed_up(parallel, options)
        critical = critical_path(outcome)

        mutating = plan_calls(parallel, options)
        state_file = state_dir / "mysfits.json"
        plan_times, status_times = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same load
            plan_times.append(cli_seconds(server, state_file, "plan"))
            status_times.append(cli_seconds(server, state_file, "status"))
        plan_s, status_s = statistics.median(plan_times), statistics.median(status_times)

    rows = [("measure", "seconds", "ratio")]
    rows += [(f"  {part}", f"{seconds:.2f}", "") for part, seconds in steps]
    speedup, over_critical, plan_ratio = baseline / wall, wall / critical, plan_s / status_s
    rows += [
        ("baseline: the six parts one after another", f"{baseline:.2f}", ""),
        ("up: the whole graph", f"{wall:.2f}", f"{speedup:.2f}x faster"),
        ("critical path of that up", f"{critical:.2f}", f"up = {over_critical:.2f}x it"),
        ("status on the stack that is up (CLI, median)", f"{status_s:.2f}", ""),
        ("plan on the stack that is up (CLI, median)", f"{plan_s:.2f}", f"{plan_ratio:.2f}x status"),
        ("mutating calls made by plan", str(len(mutating)), ", ".join(mutating)),
    ]
    print(f"Local cloud with the latency model, time scale {args.time_scale:g}; {args.rows:,} rows")
    print(table(rows))
    missed = [name for name, ok in (
        (f"up >= {args.min_speedup:g}x faster than one after another", speedup >= args.min_speedup),
        (f"up <= {args.max_critical:g}x its critical path", over_critical <= args.max_critical),
        (f"plan <= {args.max_plan:g}x status", plan_ratio <= args.max_plan),
        ("plan makes no mutating call", not mutating),
    ) if not ok]
    print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
