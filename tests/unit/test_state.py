"""The state file: atomic saves, schema version, corrupt files, the lock."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time

import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.state import SCHEMA_VERSION, StateFile, locked


def test_put_saves_at_once_and_reloads(tmp_path):
    path = tmp_path / "s" / "state.json"
    stack = StateFile(path).load().stack("mysfits", "us-east-1", "123456789012")
    stack.put("api.vpc-link", {"id": "abc", "kind": "vpc-link"})
    stack.set_output("url", "https://x")
    data = json.loads(path.read_text())
    assert data["version"] == SCHEMA_VERSION
    section = data["stacks"]["mysfits/us-east-1/123456789012"]
    assert section["resources"]["api.vpc-link"]["id"] == "abc"
    assert section["outputs"]["url"] == "https://x"
    again = StateFile(path).load().stack("mysfits", "us-east-1", "123456789012")
    assert again.get("api.vpc-link") == {"id": "abc", "kind": "vpc-link"}
    again.remove("api.vpc-link")
    assert StateFile(path).load().stack("mysfits", "us-east-1", "123456789012").resources == {}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary file left


def test_stacks_regions_and_accounts_are_separate(tmp_path):
    file = StateFile(tmp_path / "state.json").load()
    file.stack("a", "us-east-1", "1").put("k", {"id": "1"})
    file.stack("a", "eu-west-1", "1").put("k", {"id": "2"})
    assert file.stack("a", "us-east-1", "1").get("k") == {"id": "1"}
    assert file.stack("b", "us-east-1", "1").get("k") is None


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}', "\x00\xff"])
def test_corrupt_file_is_an_error_naming_it_and_is_left_alone(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(MysfitsError, match=str(path)):
        StateFile(path).load()
    assert path.read_text(encoding="latin-1") == content


def test_unknown_version_is_refused(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 99, "stacks": {}}))
    with pytest.raises(MysfitsError, match="schema version 99"):
        StateFile(path).load()


def _hold_lock(path, ready, release):
    with locked(path):
        ready.set()
        release.wait(10)


@contextlib.contextmanager
def _held_by_another_process(path, hold):
    """`hold(path, ready, release)` in a process of its own, once it holds the lock: yields (process, release)."""
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=hold, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        yield holder, release
    finally:
        release.set()
        holder.join(10)


def test_second_holder_gets_a_clear_message(tmp_path):
    path = tmp_path / "state.json"
    with _held_by_another_process(path, _hold_lock) as (holder, _):
        started = time.monotonic()
        with pytest.raises(MysfitsError, match=rf"Another mysfits command \(pid {holder.pid}\) is using"):
            with locked(path, timeout=0.3):
                pass
        assert time.monotonic() - started >= 0.3
    with locked(path, timeout=0.3):
        pass


def test_a_version_1_file_is_upgraded_to_records_by_part_of_the_stack(tmp_path):
    path = tmp_path / "state.json"
    data = {"kind": "s3-data", "id": "s3://b/mysfits/train/", "bucket": "b", "prefix": "mysfits/train/"}
    old_job = {"kind": "training-job", "id": "mysfits-knn-20261101-000000"}
    new_job = {"kind": "training-job", "id": "mysfits-knn-20261102-000000"}
    path.write_text(json.dumps({"version": 1, "stacks": {"mysfits/us-east-1/1": {"resources": {
        "train.data.train": data, "train.job.20261101": old_job, "train.job.20261102": new_job}, "outputs": {}}}}))
    stack = StateFile(path).load().stack("mysfits", "us-east-1", "1")
    assert stack.get("train.data") == {**{k: v for k, v in data.items() if k != "prefix"}, "prefixes": ["mysfits/train/"]}
    assert stack.get("train.job") == new_job
    assert stack.retired("train.job") == [("train.job/mysfits-knn-20261101-000000", old_job)]


def test_a_lock_that_recorded_nothing_leaves_nothing_and_one_that_did_stays(tmp_path):
    path = tmp_path / "new" / "state.json"
    with locked(path):
        assert path.with_name("state.json.lock").exists()
    assert not (tmp_path / "new").exists()  # neither the lock file nor the folder made for it
    with locked(path):
        StateFile(path).save()
    assert path.with_name("state.json.lock").exists()


def _hold_and_record_nothing(path, ready, release):
    with locked(path):
        ready.set()
        release.wait(10)
        time.sleep(0.3)  # the waiter is blocked on this file when it is removed


def test_a_waiter_on_a_removed_lock_file_locks_the_one_there_now(tmp_path):
    path = tmp_path / "state.json"
    with _held_by_another_process(path, _hold_and_record_nothing) as (_, release):
        release.set()
        with locked(path, timeout=5):
            # the holder removed its file on the way out; this one holds the file at the path, which a third
            # command then finds locked
            lock = path.with_name("state.json.lock")
            assert lock.exists() and lock.read_text() == f"pid {os.getpid()}"
            with pytest.raises(MysfitsError, match="Another mysfits command"):
                with locked(path, timeout=0.2):
                    pass
        assert not path.with_name("state.json.lock").exists()  # made by the waiter, which recorded nothing either
