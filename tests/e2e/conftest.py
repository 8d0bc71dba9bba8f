"""End-to-end fixtures: a seeded local-cloud server over HTTP and the real `mysfits` CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cloud import start_server


@pytest.fixture(scope="module")
def server():
    with start_server() as handle:
        yield handle


@dataclass
class Cli:
    server: object
    state_file: Path
    stack: str = "mysfits"

    def run(self, *args: str, check: bool = True, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mysfits_cli.cli", "--stack", self.stack, "--state-file", str(self.state_file), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
            env=self.server.env(**{"MYSFITS_POLL_SECONDS": "0.1", "COLUMNS": "200", **env}),
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def status(self, missing: bool = False) -> dict:
        """`status --json`, which exits 1 when recorded resources are gone (`missing`)."""
        result = self.run("status", "--json", check=not missing)
        assert result.returncode == (1 if missing else 0), result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(server, tmp_path):
    return Cli(server, tmp_path / "state.json")
