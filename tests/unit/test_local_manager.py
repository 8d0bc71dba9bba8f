"""The local-cloud manager's bookkeeping, without starting a server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.local import manager


def _record(pid: int, port: int = 1) -> None:
    manager.home().mkdir(parents=True, exist_ok=True)
    manager.record_path().write_text(json.dumps({
        "url": f"http://127.0.0.1:{port}", "port": port, "pid": pid, "region": "us-east-1",
        "started_at": "2024-01-01T00:00:00+00:00",
    }))


def test_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LOCAL_HOME", str(tmp_path / "x"))
    assert manager.record_path() == tmp_path / "x" / "cloud.json"
    monkeypatch.delenv("MYSFITS_LOCAL_HOME")
    assert manager.home() == manager.Path.home() / ".mysfits" / "local"


def test_no_record_means_not_running():
    assert manager.status() is None
    assert manager.stop() is False


def test_corrupt_record_means_not_running():
    manager.home().mkdir(parents=True)
    manager.record_path().write_text("{not json")
    assert manager.status() is None


def test_dead_pid_means_not_running():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    _record(process.pid)
    assert manager.status() is None


def test_stop_never_kills_a_process_that_is_not_our_server():
    _record(os.getpid(), port=manager.free_port())  # a live pid that is not a local cloud
    assert manager.stop() is False
    assert not manager.record_path().exists()


def test_a_busy_port_is_refused_with_the_port_named():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(MysfitsError, match=rf"Port {port} .*already in use.*another port"):
            manager.start(port=port)


def test_a_held_lock_times_out_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(manager, "LOCK_TIMEOUT_SECONDS", 0.2)
    held, release = threading.Event(), threading.Event()

    def hold():
        with manager._lock():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(MysfitsError, match="Another mysfits command"):
            manager.ensure_running()
    finally:
        release.set()
        holder.join()


def test_the_record_keeps_the_settings_and_an_old_record_means_lenient():
    from mysfits_cli.local.settings import LENIENT, CloudSettings

    settings = CloudSettings(time_scale=0.05, latency="aws")
    cloud = manager.LocalCloud("http://127.0.0.1:1", 1, 123, "us-east-1", "2024-01-01T00:00:00+00:00", settings)
    manager.home().mkdir(parents=True)
    manager._write_record(cloud)
    assert manager._read_record() == cloud
    _record(123)
    assert manager._read_record().settings == LENIENT


def test_asking_a_running_cloud_for_other_settings_is_an_error(monkeypatch):
    from mysfits_cli.local.settings import CloudSettings

    running = manager.LocalCloud("http://127.0.0.1:1", 1, 123, "us-east-1", "2024-01-01T00:00:00+00:00", CloudSettings())
    monkeypatch.setattr(manager, "_running", lambda: running)
    assert manager.start(strict=True, latency="none") == running
    with pytest.raises(MysfitsError, match=r"already running \(strict, time scale 0.0002, latency none\): "
                                           r"run `mysfits local stop` first to start it lenient"):
        manager.start(strict=False)
    with pytest.raises(MysfitsError, match="Invalid local cloud setting: MYSFITS_LOCAL_LATENCY"):
        monkeypatch.setenv("MYSFITS_LOCAL_LATENCY", "slow")
        manager.start()


def test_the_log_is_kept_from_growing_forever_and_stop_forgets_the_unpacked_functions(monkeypatch):
    from mysfits_cli.local import manager

    manager.home().mkdir(parents=True, exist_ok=True)
    manager.log_path().write_bytes(b"x" * 2048)
    monkeypatch.setattr(manager, "LOG_KEEP_BYTES", 1024)
    manager._rotate_log()
    assert not manager.log_path().exists()
    assert manager.log_path().with_name("server.log.1").stat().st_size == 2048
    (manager.cache_path() / "abc123").mkdir(parents=True)
    manager.stop()
    assert not manager.cache_path().exists()
