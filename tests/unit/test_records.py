"""Every record the state can hold is readable by status, plan, up and teardown: intents written before a
create (whose id AWS has not told yet), records of every kind, and the intents older mysfits wrote."""

from __future__ import annotations

import pytest

from mysfits_cli.engine import PENDING, Resource, ensure
from mysfits_cli.resources import load_all
from mysfits_cli.resources.s3 import Bucket, DataPrefix
from mysfits_cli.steps.status import collect
from mysfits_cli.steps.teardown import teardown

BUCKET = "sagemaker-us-east-1-123456789012"


class Killed(BaseException):
    """Stands for the process dying where it is (SIGKILL, or Ctrl-C)."""


def _killed_while_making_the_data(ctx) -> None:
    ensure(ctx, Bucket("train.bucket", BUCKET))

    def generate() -> dict[str, bytes]:
        raise Killed  # the data set is being generated and encoded: nothing is uploaded yet

    with pytest.raises(Killed):
        ensure(ctx, DataPrefix("train.data", BUCKET, ["mysfits/train/", "mysfits/test/"], generate, {"rows": 10}))


def test_a_kill_while_the_data_is_made_leaves_a_stack_status_reads_and_teardown_removes(ctx):
    _killed_while_making_the_data(ctx)
    assert ctx.state.get("train.data")[PENDING] == "create"

    report = collect(ctx)
    assert report["unreadable"] == 0 and report["missing"] == 0
    [data] = [r for r in report["resources"] if r["key"] == "train.data"]
    assert data["pending"] and not data["missing"] and "not created" in data["live"]

    assert teardown(ctx, purge_data=True) == []
    assert ctx.state.items() == []


def test_a_kill_between_two_uploads_leaves_what_was_uploaded_to_teardown(ctx):
    ensure(ctx, Bucket("train.bucket", BUCKET))
    s3 = ctx.aws.client("s3")

    def half_uploaded() -> dict[str, bytes]:
        s3.put_object(Bucket=BUCKET, Key="mysfits/train/data.pbr", Body=b"rows")  # the first object reached S3
        raise Killed

    with pytest.raises(Killed):
        ensure(ctx, DataPrefix("train.data", BUCKET, ["mysfits/train/", "mysfits/test/"], half_uploaded, {"rows": 10}))
    [data] = [r for r in collect(ctx)["resources"] if r["key"] == "train.data"]
    assert data["pending"] and data["live"] == "1 object, 4 bytes"

    assert teardown(ctx, purge_data=True) == []
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # emptied, then deleted: mysfits made it
    assert ctx.state.items() == []


def test_intents_of_every_kind_as_older_mysfits_wrote_them_are_read_and_forgotten(ctx):
    """Before a create, older versions recorded only the kind and the name (and the id, when it is the name)."""
    load_all()
    for kind, cls in Resource.registry.items():
        if cls.__module__.startswith("mysfits_cli.resources"):
            bare = {"kind": kind, "name": f"mysfits-{kind}", PENDING: "create", "since": "2026-11-30T10:00:00+00:00"}
            ctx.state.put(f"old.{kind}", bare)
            ctx.state.put(f"old.{kind}.with-id", {**bare, "id": bare["name"]})

    report = collect(ctx)
    assert report["unreadable"] == 0, [r for r in report["resources"] if r["live"].startswith("unreadable")]
    assert teardown(ctx, purge_data=True) == []
    assert ctx.state.items() == []


def test_status_exits_1_when_a_record_cannot_be_read(ctx):
    import json

    from typer.testing import CliRunner

    from mysfits_cli.cli import app

    ctx.state.put("from.a.newer.mysfits", {"kind": "a-kind-this-mysfits-does-not-know", "name": "x", "id": "x"})
    result = CliRunner().invoke(app, ["--state-file", str(ctx.state.path), "status", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["unreadable"], report["missing"]) == (1, 0)
    assert report["resources"][0]["live"] == "unreadable: unknown kind 'a-kind-this-mysfits-does-not-know'"
