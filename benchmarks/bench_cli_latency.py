"""Command-line latency, and a warm recommendation over HTTP, on the local cloud.

    python benchmarks/bench_cli_latency.py [--rows 20000] [--repeat 7] [--max-ratio 4]
                                           [--max-recommend-ratio 2.5] [--posts 50] [--max-warm-ms 30]

Starts a local cloud of its own (a temporary MYSFITS_LOCAL_HOME), brings the whole stack up on
it (`mysfits demo --keep`, 19 resources, on the demo's stack), then times, interleaved and each
as a fresh process, `python -c "import boto3"` (the baseline: every command needs boto3), and on
that stack `mysfits --local status` and `mysfits --local recommend 1 2 3 4 5`, and (in this process) one POST to the recommendations
API, which `recommend` waits for. Then it sends --posts more POSTs one after another: the
function's warm execution environment answers them, asking the endpoint each time.
Prints the medians and their ratios to the baseline, and the warm POSTs' median and 90th
percentile; exits 1 when `status` takes more than --max-ratio times the baseline, `recommend`
more than --max-recommend-ratio times, or a warm POST's median more than --max-warm-ms
milliseconds. Stops the cloud at the end.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table  # noqa: E402

import mysfits_cli  # noqa: E402
from mysfits_cli.steps.demo import DEMO_STACK  # noqa: E402

ON_THE_DEMO_STACK = [sys.executable, "-m", "mysfits_cli.cli", "--local", "--stack", DEMO_STACK]
COMMANDS = {
    "python -c 'import boto3'": [sys.executable, "-c", "import boto3"],
    "mysfits --local status": [*ON_THE_DEMO_STACK, "status"],
    "mysfits --local recommend 1 2 3 4 5": [*ON_THE_DEMO_STACK, "recommend", "1", "2", "3", "4", "5"],
}
BASELINE = "python -c 'import boto3'"
RECOMMEND = "mysfits --local recommend 1 2 3 4 5"
API = "POST /recommendations (the API alone)"
WARM = "POST /recommendations, warm"


def run(command: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def post(url: str) -> float:
    request = urllib.request.Request(url, data=json.dumps({"entry": [1, 2, 3, 4, 5]}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - start


def api_url(home: str) -> str:
    sections = json.loads((Path(home) / "state.json").read_text())["stacks"].values()
    return next(s["outputs"]["recommendations_api_url"] for s in sections if s["outputs"].get("recommendations_api_url"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows the demo stack trains on")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command; the median counts")
    parser.add_argument("--max-ratio", type=float, default=4.0, help="slowest allowed `status`, in baseline times (4x: about half a second)")
    parser.add_argument("--max-recommend-ratio", type=float, default=2.5, help="slowest allowed `recommend`, in baseline times")
    parser.add_argument("--posts", type=int, default=50, help="warm POSTs to the recommendations API; the median counts")
    parser.add_argument("--max-warm-ms", type=float, default=30.0, help="slowest allowed median of a warm POST, in ms")
    args = parser.parse_args(argv)

    # as `pip install` leaves it: bytecode written (PYTHONDONTWRITEBYTECODE would compile each module in each run)
    compileall.compile_dir(Path(mysfits_cli.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="mysfits-bench-") as home:
        env = {k: v for k, v in os.environ.items() if k not in ("MYSFITS_STATE_FILE", "MYSFITS_ENDPOINT_URL")}
        # the state file named, so that any version of mysfits (PYTHONPATH=<checkout>) is measured the same way
        env.update(MYSFITS_LOCAL_HOME=home, MYSFITS_POLL_SECONDS="0.1", MYSFITS_STATE_FILE=f"{home}/state.json")
        mysfits = [sys.executable, "-m", "mysfits_cli.cli"]
        try:
            demo = subprocess.run([*mysfits, "demo", "--keep", "--rows", str(args.rows)], env=env, cwd=home,
                                  capture_output=True, text=True)
            if demo.returncode != 0:
                sys.exit(f"the demo stack did not come up:\n{demo.stderr[-2000:]}")
            for command in COMMANDS.values():  # warm the file cache, and check each one works
                run(command, env, home)
            url = f"{api_url(home)}/recommendations"
            times: dict[str, list[float]] = {name: [] for name in [*COMMANDS, API]}
            for _ in range(args.repeat):
                for name, command in COMMANDS.items():
                    times[name].append(run(command, env, home))
                times[API].append(post(url))
            warm = [post(url) for _ in range(args.posts)]
        finally:
            subprocess.run([*mysfits, "local", "stop"], env=env, cwd=home, stdout=subprocess.DEVNULL)

    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians[BASELINE]
    print(f"Wall time of a fresh process, median of {args.repeat} (stack of 19 resources on the local cloud)")
    print(table([("command", "seconds", "x baseline")]
                + [(name, f"{seconds:.3f}", f"{seconds / base:.2f}") for name, seconds in medians.items()]))
    overhead = medians[RECOMMEND] - medians[API]
    print(f"recommend less the API's own time: {overhead:.3f} s = {overhead / base:.2f}x the baseline")
    warm_ms = statistics.median(warm) * 1000
    p90_ms = sorted(warm)[int(0.9 * (len(warm) - 1))] * 1000
    print(f"{WARM}: median {warm_ms:.1f} ms, 90th percentile {p90_ms:.1f} ms over {len(warm)} requests "
          "(the endpoint's own time included)")
    limits = {"mysfits --local status": args.max_ratio, RECOMMEND: args.max_recommend_ratio}
    slow = [f"{name} ({medians[name] / base:.2f}x)" for name, limit in limits.items() if medians[name] / base > limit]
    if warm_ms > args.max_warm_ms:
        slow.append(f"{WARM} ({warm_ms:.1f} ms)")
    print(f"targets: status <= {args.max_ratio:g}x and recommend <= {args.max_recommend_ratio:g}x the baseline, "
          f"a warm POST's median <= {args.max_warm_ms:g} ms; " + (f"missed by {', '.join(slow)}" if slow else "met"))
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
