"""Run the functions stored in moto's Lambda backend, without Docker, in warm execution environments.

One runner serves the Lambda Invoke API (lambda_api.py) and the API data plane (dataplane.py):

    invocation = lambdas.environments().invoke(function, event, max_seconds=29)

An execution environment is a process (`python -m mysfits_cli.local.lambda_runner`, see there)
running the function's code, extracted once per code SHA-256 into a cache folder, with the
function's environment, this cloud's endpoint URL and fake credentials. As on Lambda:

- the handler's module is imported once per environment (the init phase), and an environment is
  reused by the invocations that follow, one at a time;
- concurrent invocations get more environments, up to the function's reserved concurrency or,
  without one, MAX_ENVIRONMENTS (a machine's limit, not an AWS one: beyond it invocations wait for
  an environment to be free);
- a change to the function's code or configuration retires its environments (busy ones once they
  finish); an environment idle for IDLE_SECONDS ends;
- a timeout, a crash or an exit ends only that environment; `close()` (the local cloud stopping)
  ends them all. An environment whose parent dies also ends: its stdin closes.

Each environment writes to its own log stream of /aws/lambda/<name> (START, the function's lines,
END, REPORT with the init duration on its first invocation), as Lambda does.
"""

from __future__ import annotations

import base64
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.logs.models import logs_backends

from .lambda_runner import END_MARK

# Lambda's init phase has a budget of its own: 10 s (Lambda developer guide, "Lambda execution
# environment lifecycle": "The Init phase is limited to 10 seconds").
INIT_SECONDS = 10.0
# How long an unused environment is kept. Lambda does not publish it; environments are seen to
# stay warm for minutes (AWS Compute Blog, "Operating Lambda: Performance optimization"), so five.
IDLE_SECONDS = 300.0
MAX_ENVIRONMENTS = 4
LOG_TAIL_BYTES = 4096  # Invoke's LogType Tail: "the last 4 KB of the execution log"
_LOG_DRAIN_SECONDS = 2.0


class FunctionNotFound(Exception):
    pass


class Throttled(Exception):
    """More concurrent invocations than the function's reserved concurrency."""


@dataclass
class Invocation:
    request_id: str
    completed: bool  # False when the environment was ended at the function's timeout
    ok: bool = False  # the handler returned (rather than raised, crashed or timed out)
    result: Any = None
    error: dict[str, Any] | None = None  # the Python runtime's error payload
    log: list[str] = field(default_factory=list)  # START ... REPORT, as written to CloudWatch Logs
    memory_mb: int = 0  # the environment's peak memory, for the REPORT line

    @property
    def log_tail(self) -> str:
        """The last 4 KB of the log, base64-encoded (Invoke's X-Amz-Log-Result)."""
        data = "".join(line + "\n" for line in self.log).encode()
        return base64.b64encode(data[-LOG_TAIL_BYTES:]).decode()


def default_cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"mysfits-lambda-cache-{uid}"


def find_function(function_arn: str, default_account: str, default_region: str, qualifier: str | None = None) -> Any:
    """The moto function for an ARN (with an optional qualifier) or a plain name."""
    parts = function_arn.split(":")
    account, region = default_account, default_region
    if function_arn.startswith("arn:") and len(parts) >= 7:
        region, account = parts[3] or region, parts[4] or account
    try:
        return lambda_backends[account][region].get_function(function_arn, qualifier)
    except Exception as exc:  # moto raises its own not-found error types
        raise FunctionNotFound(function_arn) from exc


def _fingerprint(function: Any, endpoint_url: str) -> tuple:
    """What an environment was made from: any change retires it."""
    return (function.code_sha_256, function.handler, function.run_time, function.memory_size, function.timeout,
            function.role, tuple(sorted((function.environment_vars or {}).items())), endpoint_url)


class Environment:
    """One execution environment: a runner process, the log stream it writes to, and its state."""

    def __init__(self, function: Any, endpoint_url: str, cache_dir: Path) -> None:
        self.endpoint_url = endpoint_url
        self.fingerprint = _fingerprint(function, endpoint_url)
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


class _Function:
    """The environments of one function."""

    def __init__(self) -> None:
        self.idle: list[Environment] = []
        self.busy = 0


class Environments:
    """Every function's warm execution environments."""

    def __init__(self, endpoint_url: str | None = None, cache_dir: Path | None = None,
                 idle_seconds: float = IDLE_SECONDS, max_environments: int = MAX_ENVIRONMENTS) -> None:
        self.endpoint_url = endpoint_url
        self.cache_dir = cache_dir or default_cache_dir()
        self.idle_seconds = idle_seconds
        self.max_environments = max_environments
        self._functions: dict[str, _Function] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._all: set[Environment] = set()  # idle and busy
        self._reaper: threading.Thread | None = None

    def invoke(self, function: Any, event: Any, *, endpoint_url: str | None = None,
               max_seconds: float | None = None) -> Invocation:
        """Run one invocation in a warm environment (made if needed); Throttled over reserved concurrency."""
        endpoint_url = endpoint_url or self.endpoint_url or ""
        timeout = float(function.timeout or 3)
        if max_seconds is not None:
            timeout = min(timeout, max_seconds)
        request_id = str(uuid.uuid4())
        environment = self._acquire(function, endpoint_url)
        try:
            first = environment.init_ms is None
            failure = environment.start() if first else None
            started = time.monotonic()  # Lambda's Duration leaves the init phase out; it is Init Duration
            if failure is not None:
                invocation = Invocation(request_id, completed=True, error={**failure, "requestId": "", "stackTrace": []})
                lines = environment.drain() + [f"[ERROR] {failure['errorType']}: {failure['errorMessage']}"]
            else:
                invocation, lines = self._run(function, environment, event, request_id, timeout)
            invocation.log = _log_lines(function, request_id, lines, (time.monotonic() - started) * 1000,
                                        environment.init_ms if first else None, invocation)
            _write_log(function, environment.stream, invocation.log)
            return invocation
        finally:
            self._release(function, environment)

    def close(self) -> None:
        """End every environment (the local cloud is stopping); invocations in flight end too."""
        with self._changed:
            self._closed = True
            environments, self._all = list(self._all), set()
            for entry in self._functions.values():
                entry.idle.clear()
            self._changed.notify_all()
        for environment in environments:
            environment.close()

    def count(self, function: Any) -> int:
        """How many environments the function has, idle or busy."""
        with self._changed:
            entry = self._functions.get(function.function_arn)
            return len(entry.idle) + entry.busy if entry else 0

    def _run(self, function: Any, environment: Environment, event: Any, request_id: str,
             timeout: float) -> tuple[Invocation, list[str]]:
        request = {"event": event, "context": {
            "function_name": function.function_name,
            "invoked_function_arn": function.function_arn,
            "memory_limit_in_mb": function.memory_size,
            "aws_request_id": request_id,
            "log_group_name": function.logs_group_name,
            "log_stream_name": environment.stream,
            "timeout": timeout,
        }}
        try:
            reply, lines = environment.run(request, timeout)
        except TimeoutError as timed_out:
            # Lambda's payload and log line for a timeout (Lambda developer guide, "Troubleshoot
            # invocation issues": Sandbox.Timedout)
            message = f"Task timed out after {timeout:.2f} seconds"
            stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            error = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
            return Invocation(request_id, completed=False, error=error), [*timed_out.args[0], f"{stamp} {request_id} {message}"]
        if reply is None:
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                     f"exit status {environment.process.returncode}"}
            return Invocation(request_id, completed=True, error=error), [*lines, error["errorMessage"]]
        memory = int(reply.get("maxMemoryMB") or 0)
        if reply.get("ok"):
            return Invocation(request_id, completed=True, ok=True, result=reply.get("result"), memory_mb=memory), lines
        error = {"errorMessage": reply.get("errorMessage", ""), "errorType": reply.get("errorType", ""),
                 "requestId": request_id, "stackTrace": reply.get("stackTrace") or []}
        return Invocation(request_id, completed=True, error=error, memory_mb=memory), lines

    def _acquire(self, function: Any, endpoint_url: str) -> Environment:
        fingerprint = _fingerprint(function, endpoint_url)
        retired: list[Environment] = []
        reserved = function.reserved_concurrency
        limit = self.max_environments if reserved is None else min(int(reserved), self.max_environments)
        try:
            with self._changed:
                entry = self._functions.setdefault(function.function_arn, _Function())
                while True:
                    if self._closed:
                        raise RuntimeError("the local cloud is stopping")
                    if reserved is not None and entry.busy >= int(reserved):
                        raise Throttled()
                    retired += [env for env in entry.idle if env.fingerprint != fingerprint or not env.alive]
                    entry.idle = [env for env in entry.idle if env not in retired]
                    if entry.idle:
                        entry.busy += 1
                        return entry.idle.pop()
                    if entry.busy < limit:
                        entry.busy += 1
                        break
                    self._changed.wait()
        finally:
            for environment in retired:
                environment.close()
        try:
            environment = Environment(function, endpoint_url, self.cache_dir)
        except Exception:
            self._release(function, None)
            raise
        with self._changed:
            self._all.add(environment)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="lambda-idle-reaper", daemon=True)
                self._reaper.start()
        return environment

    def _release(self, function: Any, environment: Environment | None) -> None:
        keep = (environment is not None and environment.alive and not self._closed
                and environment.fingerprint == _fingerprint(function, environment.endpoint_url))
        with self._changed:
            if environment is not None and not keep:
                self._all.discard(environment)
            entry = self._functions.setdefault(function.function_arn, _Function())
            entry.busy -= 1
            if keep:
                environment.last_used = time.monotonic()
                entry.idle.append(environment)
            self._changed.notify_all()
        if environment is not None and not keep:
            environment.close()

    def _reap(self) -> None:
        """End environments unused for idle_seconds."""
        while True:
            with self._changed:
                if self._closed:
                    return
                self._changed.wait(min(self.idle_seconds, 5.0))
                now, stale = time.monotonic(), []
                for entry in self._functions.values():
                    stale += [env for env in entry.idle if now - env.last_used >= self.idle_seconds]
                    entry.idle = [env for env in entry.idle if env not in stale]
                self._all.difference_update(stale)
            for environment in stale:
                environment.close()


_shared: Environments | None = None
_shared_lock = threading.Lock()


def environments() -> Environments:
    """The local cloud's one set of environments, shared by the Invoke API and the data plane."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Environments()
        return _shared


def configure(endpoint_url: str | None = None, cache_dir: Path | None = None) -> Environments:
    """Where functions reach this cloud and where their code is unpacked (the server sets both)."""
    shared = environments()
    shared.endpoint_url = endpoint_url or shared.endpoint_url
    shared.cache_dir = cache_dir or shared.cache_dir
    return shared


def close() -> None:
    """End every environment and forget them (the local cloud stops)."""
    global _shared
    with _shared_lock:
        shared, _shared = _shared, None
    if shared is not None:
        shared.close()


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


def _log_lines(function: Any, request_id: str, lines: list[str], duration_ms: float, init_ms: float | None,
               invocation: Invocation) -> list[str]:
    """START, the function's lines, END and REPORT, as Lambda writes them."""
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
              f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {function.memory_size} MB\t"
              f"Max Memory Used: {invocation.memory_mb or 1} MB\t")
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    return [f"START RequestId: {request_id} Version: $LATEST", *lines, f"END RequestId: {request_id}", report]


def _write_log(function: Any, stream: str, lines: list[str]) -> None:
    try:
        logs = logs_backends[function.account_id][function.region]
        group = function.logs_group_name
        if group not in logs.groups:
            logs.create_log_group(group, {})
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        logs.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
    except Exception as exc:  # the log is a convenience; the invocation's answer must not depend on it
        print(f"could not write the log of {function.function_name}: {exc}", file=sys.stderr)
