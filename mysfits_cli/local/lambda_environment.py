"""One execution environment of a Lambda function: a warm runner process and the log stream it writes to.

    environment = Environment(function, endpoint_url, cache_dir)
    failure = environment.start()                    # the init phase: the handler's module is imported
    reply, lines = environment.run(request, timeout) # one invocation; TimeoutError ends the environment
    environment.close()

The process is `python -m mysfits_cli.local.lambda_runner` (see there for the protocol), run in the
function's code, extracted once per code SHA-256 into a cache folder, with the function's
environment, this cloud's endpoint URL and fake credentials, in a session of its own so that
ending it ends whatever the function started. lambdas.py keeps them warm and shares them out.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .lambda_runner import END_MARK

# Lambda's init phase has a budget of its own: 10 s (Lambda developer guide, "Lambda execution
# environment lifecycle": "The Init phase is limited to 10 seconds").
INIT_SECONDS = 10.0
_LOG_DRAIN_SECONDS = 2.0


def fingerprint(function: Any, endpoint_url: str) -> tuple:
    """What an environment was made from: any change retires it."""
    return (function.code_sha_256, function.handler, function.run_time, function.memory_size, function.timeout,
            function.role, tuple(sorted((function.environment_vars or {}).items())), endpoint_url)


class Environment:
    """One execution environment: a runner process, the log stream it writes to, and its state."""

    def __init__(self, function: Any, endpoint_url: str, cache_dir: Path) -> None:
        self.endpoint_url = endpoint_url
        self.fingerprint = fingerprint(function, endpoint_url)
        self.stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.init_ms: float | None = None  # reported once, on the first invocation's REPORT line
        self.last_used = time.monotonic()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pending = b""
        code_dir = _extract(function.code_bytes, cache_dir)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mysfits_cli.local.lambda_runner", function.handler],
            cwd=code_dir, env=_environment(function, endpoint_url, code_dir, self.stream),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # so ending it ends whatever the function started too
        )
        threading.Thread(target=self._read_log, name=f"lambda-log-{self.process.pid}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self) -> dict[str, Any] | None:
        """Wait for the init phase; None when it is done, else the runtime's error for it."""
        try:
            init = (self._reply(INIT_SECONDS) or {}).get("init") or {}
        except TimeoutError:
            init = {"errorType": "Runtime.InitError",
                    "errorMessage": f"The init phase did not finish within {INIT_SECONDS:.0f} seconds"}
        if init.get("ok"):
            self.init_ms = float(init.get("ms") or 0)
            return None
        self.close()
        return {"errorType": init.get("errorType", "Runtime.ExitError"),
                "errorMessage": init.get("errorMessage", "Runtime exited during the init phase")}

    def run(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any] | None, list[str]]:
        """Send one invocation: (the runner's answer, its log lines). TimeoutError if it took longer than
        `timeout` (the environment is then ended); a None answer when the runner exited instead."""
        request_id = request["context"]["aws_request_id"]
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        try:
            reply = self._reply(timeout)
        except TimeoutError:
            self.close()
            raise TimeoutError(self._log_of(request_id, finished=False)) from None
        if reply is None:  # it exited: its status says how
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
            self.close()
        return reply, self._log_of(request_id, finished=reply is not None)

    def close(self) -> None:
        """End the process and everything it started."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def _reply(self, timeout: float) -> dict[str, Any] | None:
        """The runner's next result line; None if it exited first, TimeoutError if none comes in `timeout`."""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            try:
                ready = left > 0 and select.select([fd], [], [], left)[0]
            except (OSError, ValueError):  # ended meanwhile (the local cloud is stopping)
                return None
            if not ready:
                raise TimeoutError()
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # ended meanwhile (the local cloud is stopping)
                return None
            if not chunk:
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def _read_log(self) -> None:
        for raw in self.process.stderr:
            self._lines.put(raw.decode(errors="replace").rstrip("\n"))
        self._lines.put(None)

    def drain(self) -> list[str]:
        """What the process wrote that no invocation has claimed (an init phase that failed)."""
        return self._log_of("", finished=False)

    def _log_of(self, request_id: str, finished: bool) -> list[str]:
        """The lines the function wrote during this invocation (up to the runner's end mark)."""
        lines, deadline = [], time.monotonic() + _LOG_DRAIN_SECONDS
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()) if finished else 0.2)
            except queue.Empty:
                return lines
            if line is None:
                return lines
            if request_id and line == END_MARK + request_id:
                return lines
            lines.append(line)


def _environment(function: Any, endpoint_url: str, code_dir: Path, stream: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
    # Set last, as Lambda's reserved variables are: the function must only ever
    # reach this cloud, with fake credentials, never the caller's AWS profile.
    env.update({
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
        "LAMBDA_TASK_ROOT": str(code_dir),
    })
    return env


def _extract(code: bytes, cache_dir: Path) -> Path:
    """The directory holding this code, extracted on first use (safe against concurrent callers)."""
    target = cache_dir / hashlib.sha256(code).hexdigest()
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".extract-"))
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)  # extractall drops absolute paths and '..'
        try:
            staging.rename(target)
        except OSError:  # another request extracted the same code first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
