"""The background local cloud the CLI runs against with --local.

One server per home folder (env MYSFITS_LOCAL_HOME, else ~/.mysfits/local), recorded in
<home>/cloud.json as {"url", "port", "pid", "region", "started_at", "settings"} the moment its
process starts (Ctrl-C held back in between), before it answers: a command interrupted while
the server starts leaves it recorded, for `local stop` to stop and the next command to use. Its
output goes to <home>/server.log. A lock file keeps two commands from starting two servers.
Everything lives in the server's memory: a restarted local cloud starts empty (seeded).

The settings (strict or lenient, time scale, latency model, switches; see settings.py)
come from the flags given, then the MYSFITS_LOCAL_* environment, then the defaults. A
running cloud keeps its settings: asking for different ones is an error until it is
stopped, and --local uses whatever is running (or starts one with the defaults).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import interrupts
from ..errors import MysfitsError
from .server import HEALTH_PATH, HOST
from .settings import LENIENT, CloudSettings, SettingsError

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
LOCK_TIMEOUT_SECONDS = 90.0
HEALTH_TIMEOUT_SECONDS = 1.0
BUSY_GRACE_SECONDS = 5.0
PORT_RELEASE_SECONDS = 3.0
SERVER_MODULE = "mysfits_cli.local.server"
LOG_KEEP_BYTES = 5 * 1024 * 1024


class PortInUse(MysfitsError):
    pass


@dataclass(frozen=True)
class LocalCloud:
    url: str
    port: int
    pid: int
    region: str
    started_at: str
    settings: CloudSettings = field(default_factory=CloudSettings)


def home() -> Path:
    configured = os.environ.get("MYSFITS_LOCAL_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".mysfits" / "local"


def record_path() -> Path:
    return home() / "cloud.json"


def cache_path() -> Path:
    """Where the local cloud unpacks the Lambda functions it runs."""
    return home() / "lambda-cache"


def _rotate_log() -> None:
    """Keep the log from growing forever: past LOG_KEEP_BYTES, the last one is kept as server.log.1."""
    path = log_path()
    if path.exists() and path.stat().st_size > LOG_KEEP_BYTES:
        os.replace(path, path.with_name(path.name + ".1"))


def log_path() -> Path:
    return home() / "server.log"


def status() -> LocalCloud | None:
    """The recorded local cloud if its process is alive and answering; else None."""
    cloud = _read_record()
    if cloud is None or not _pid_alive(cloud.pid):
        return None
    health = _health(cloud.url)
    if health is None or health.get("pid") != cloud.pid or not health.get("ready"):
        return None
    return cloud


def starting() -> LocalCloud | None:
    """The recorded local cloud if its server runs but does not answer yet (it is starting, or busy); else None."""
    return _live_record() if status() is None else None


def _live_record() -> LocalCloud | None:
    """The recorded local cloud if its server process lives, answering or not."""
    cloud = _read_record()
    return cloud if cloud is not None and _pid_alive(cloud.pid) and _runs_our_server(cloud.pid) else None


def start(port: int | None = None, region: str = "us-east-1", **requested: Any) -> LocalCloud:
    """Start the local cloud in the background, or return the one already running.

    `requested` are the settings asked for explicitly (None: not asked); a running cloud
    with other values for them is an error.
    """
    settings = settings_from_env(**requested)
    with _lock():
        running = _running()
        if running is not None:
            _refuse_other_settings(running, requested)
            _seed_region(running, region)
            return running
        _discard_record()
        return _spawn(port, region, settings)


def ensure_running(region: str = "us-east-1", announce: Callable[[str], None] | None = None) -> LocalCloud:
    """The running local cloud, whatever its settings; started with the default settings,
    or restarted with the settings it had if the recorded one died or hangs.

    `announce(url)` is told before a start, which takes a few seconds, so the caller can say so.
    """
    with _lock():
        running = _running()
        if running is not None:
            _seed_region(running, region)
            return running
        previous = _discard_record()
        settings = previous.settings if previous is not None else settings_from_env()
        # the same port keeps URLs that were handed out pointing at the new server
        port = _released(previous.port) if previous is not None else None
        try:
            return _spawn(port, region, settings, announce)
        except PortInUse:
            if port is None:
                raise
            return _spawn(None, region, settings, announce)


def settings_from_env(**requested: Any) -> CloudSettings:
    """The settings a new local cloud gets: `requested`, then MYSFITS_LOCAL_*, then the defaults."""
    try:
        return CloudSettings.from_env(**requested)
    except SettingsError as exc:
        raise MysfitsError(f"Invalid local cloud setting: {exc}") from None


def _refuse_other_settings(running: LocalCloud, requested: dict[str, Any]) -> None:
    differing = {name: value for name, value in requested.items()
                 if value is not None and getattr(running.settings, name) != value}
    if differing:
        wanted = replace(running.settings, **differing)
        raise MysfitsError(
            f"The local cloud is already running ({running.settings.describe()}): "
            f"run `mysfits local stop` first to start it {wanted.describe()}"
        )


def stop() -> bool:
    """Stop the recorded local cloud, and forget the function packages it unpacked; True if one was running."""
    with _lock():
        cloud = _read_record()
        stopped = _terminate(cloud) if cloud is not None else False
        record_path().unlink(missing_ok=True)
        shutil.rmtree(cache_path(), ignore_errors=True)
        return stopped


def _running() -> LocalCloud | None:
    """status(), with time for a live server to answer: one still starting gets until its start-up time is up,
    one too busy to answer at once a few seconds."""
    cloud = status()
    recorded = _live_record() if cloud is None else None
    if recorded is not None:
        deadline = time.monotonic() + max(BUSY_GRACE_SECONDS, START_TIMEOUT_SECONDS - _age(recorded))
        while cloud is None and time.monotonic() < deadline and _pid_alive(recorded.pid):
            time.sleep(0.2)
            cloud = status()
    return cloud


def _age(cloud: LocalCloud) -> float:
    """Seconds since the cloud's server was started."""
    try:
        started = datetime.fromisoformat(cloud.started_at)
    except ValueError:
        return float("inf")
    return (datetime.now(timezone.utc) - started).total_seconds()


def _released(port: int) -> int | None:
    """The port once a dead server's socket is gone (it can linger a moment); None if it stays taken."""
    deadline = time.monotonic() + PORT_RELEASE_SECONDS
    while not _port_free(port):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)
    return port


def _spawn(port: int | None, region: str, settings: CloudSettings,
           announce: Callable[[str], None] | None = None) -> LocalCloud:
    if port is not None:
        if not _port_free(port):
            raise PortInUse(f"Port {port} on {HOST} is already in use: "
                            f"choose another port for the local cloud (e.g. {free_port()})")
        return _launch(port, region, settings, announce)
    attempts = 3  # a free port can be taken between choosing and binding it
    while True:
        try:
            return _launch(free_port(), region, settings, announce)
        except PortInUse:
            attempts -= 1
            if attempts == 0:
                raise


def _launch(port: int, region: str, settings: CloudSettings,
            announce: Callable[[str], None] | None = None) -> LocalCloud:
    home().mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", SERVER_MODULE, "--port", str(port), "--region", region,
               "--cache-dir", str(cache_path()), *settings.server_args()]
    _rotate_log()
    if announce:
        announce(f"http://{HOST}:{port}")
    url = f"http://{HOST}:{port}"
    with open(log_path(), "ab") as log, interrupts.held():  # no server ever runs unrecorded
        # cwd is the home folder because `python -m` puts the working directory first on sys.path:
        # started from a source checkout it would import that instead of the installed package.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=home(),
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True, close_fds=True,
        )
        cloud = LocalCloud(url=url, port=port, pid=process.pid, region=region,
                           started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), settings=settings)
        _write_record(cloud)
    try:
        _wait_until_ready(process, url, port)
    except MysfitsError:
        record_path().unlink(missing_ok=True)  # it exited, or was stopped for not answering
        raise
    return cloud


def _wait_until_ready(process: subprocess.Popen, url: str, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            if code == 2:
                raise PortInUse(f"Port {port} on {HOST} is already in use: choose another port for the local cloud")
            raise MysfitsError(f"The local cloud exited at start-up (code {code}): {_log_tail()} (log: {log_path()})")
        health = _health(url)
        if health and health.get("ready") and health.get("pid") == process.pid:
            return
        time.sleep(0.1)
    _terminate_process(process.pid)
    raise MysfitsError(f"The local cloud did not answer within {START_TIMEOUT_SECONDS:.0f}s (log: {log_path()})")


def _terminate(cloud: LocalCloud) -> bool:
    """SIGTERM the recorded server if it is alive and really ours."""
    if not _pid_alive(cloud.pid):
        return False
    health = _health(cloud.url)
    ours = (health is not None and health.get("pid") == cloud.pid) or _runs_our_server(cloud.pid)
    if not ours:
        return False  # the pid was reused by some other process: leave it alone
    _terminate_process(cloud.pid)
    return True


def _terminate_process(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _pid_alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _discard_record() -> LocalCloud | None:
    """Remove the record of a server that is not answering (stopping it if it hangs)."""
    cloud = _read_record()
    if cloud is not None:
        _terminate(cloud)
        record_path().unlink(missing_ok=True)
    return cloud


def _seed_region(cloud: LocalCloud, region: str) -> None:
    """The server seeds its own region; another region is seeded on first use."""
    if region != cloud.region:
        from .seed import seed

        seed(region, endpoint_url=cloud.url)


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=HEALTH_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503 while seeding
        with contextlib.suppress(ValueError):
            return json.loads(exc.read())
        return None
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it if it has exited
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _runs_our_server(pid: int) -> bool:
    try:
        return SERVER_MODULE in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the server binds: connections in TIME_WAIT from a killed server do not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _read_record() -> LocalCloud | None:
    try:
        data = json.loads(record_path().read_text())
        # a record without settings was written before there were any: its server is lenient
        settings = CloudSettings.from_record(data["settings"]) if "settings" in data else LENIENT
        return LocalCloud(url=str(data["url"]), port=int(data["port"]), pid=int(data["pid"]),
                          region=str(data["region"]), started_at=str(data["started_at"]), settings=settings)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: no local cloud, and replaced on the next start


def _write_record(cloud: LocalCloud) -> None:
    path = record_path()
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(cloud), indent=2) + "\n")
    os.replace(temporary, path)


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    import fcntl

    home().mkdir(parents=True, exist_ok=True)
    path = home() / "cloud.lock"
    with open(path, "a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MysfitsError(
                        f"Another mysfits command is starting or stopping the local cloud (lock {path}): try again"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_tail(lines: int = 5) -> str:
    try:
        tail = log_path().read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return "no output"
    return " | ".join(tail) or "no output"
