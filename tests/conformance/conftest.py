"""Conformance: the tools users already have, against one local cloud shared by these tests.

Every botocore client this process makes while they run (the SageMaker Python SDK's, boto3's,
mysfits' own) has each response checked against botocore's output shape for it; the AWS CLI
runs as a subprocess with the same checker as a plugin. A test that saw a response depart from
its shape fails with the list of departures.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import botocore.session
import pytest
from typer.testing import CliRunner

from tests.support.cloud import FAKE_CREDENTIALS, ServerHandle, start_server
from tests.support.shapes import ShapeChecker

README = Path(__file__).resolve().parents[2] / "README.md"
ROWS = 20_000  # a few seconds of training and evaluation; enough for the accuracy to mean something


def readme_block(marker: str) -> str:
    """The fenced block that follows `<!-- marker -->` in the README."""
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert found, f"the README has no block marked {marker}"
    return found.group(1)


@pytest.fixture(scope="package")
def cloud():
    with start_server() as server:
        yield server


@pytest.fixture(scope="package")
def shapes() -> ShapeChecker:
    return ShapeChecker()


@contextlib.contextmanager
def watching(checker: ShapeChecker) -> Iterator[None]:
    """Every botocore client made meanwhile in this process has its responses checked."""
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        checker.watch(client)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original


@pytest.fixture(autouse=True)
def responses_match_their_shapes(shapes):
    seen = len(shapes.problems)
    with watching(shapes):
        yield
    assert shapes.problems[seen:] == [], "responses that depart from botocore's output shapes"


def user_environment(cloud: ServerHandle) -> dict[str, str]:
    """What a user exports to point their tools at the local cloud (the README's lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MYSFITS_ENDPOINT"))}
    return {**env, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": cloud.url, "AWS_REGION": cloud.region,
            "AWS_DEFAULT_REGION": cloud.region}


@dataclass
class Stack:
    outputs: dict
    status: dict
    state_file: Path
    checked: list[str]  # the operations of mysfits' own calls whose responses were checked


@pytest.fixture(scope="package")
def stack(cloud, shapes, tmp_path_factory) -> Stack:
    """The stack without its notebook, brought up by mysfits in this process (so its responses are checked)."""
    from mysfits_cli.cli import app

    state_file = tmp_path_factory.mktemp("stack") / "state.json"
    env = {"MYSFITS_ENDPOINT_URL": cloud.url, "MYSFITS_POLL_SECONDS": "0.05", "COLUMNS": "200",
           "AWS_REGION": cloud.region, **FAKE_CREDENTIALS}
    runner = CliRunner()
    checked, seen = len(shapes.checked), len(shapes.problems)
    with watching(shapes):
        up = runner.invoke(app, ["--state-file", str(state_file), "up", "--skip", "notebook", "--rows", str(ROWS)], env=env)
        assert up.exit_code == 0, up.output
        status = runner.invoke(app, ["--state-file", str(state_file), "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    assert shapes.problems[seen:] == [], "mysfits' own calls got responses that depart from botocore's output shapes"
    report = json.loads(status.stdout)
    return Stack(report["outputs"], report, state_file, shapes.checked[checked:])
