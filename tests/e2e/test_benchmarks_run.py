"""The benchmarks that need only the test extra still run against today's tool: a small data set, one
round, and their targets switched off (speed is measured by running them, never asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300, cwd=BENCHMARKS.parent)


def test_bench_up_brings_the_stack_up_both_ways_and_plans_it():
    done = run("bench_up.py", "--rows", "2000", "--time-scale", "0.001", "--repeat", "1",
               "--min-speedup", "0", "--max-critical", "1000", "--max-plan", "1000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up: the whole graph" in done.stdout and re.search(r"mutating calls made by plan\s+0\s", done.stdout)


def test_bench_cli_latency_times_the_commands_on_the_demo_stack():
    done = run("bench_cli_latency.py", "--rows", "2000", "--repeat", "1", "--posts", "3", "--max-ratio", "1000",
               "--max-recommend-ratio", "1000", "--max-warm-ms", "100000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mysfits --local recommend 1 2 3 4 5" in done.stdout and "POST /recommendations, warm: median" in done.stdout
