"""Run the functions stored in moto's Lambda backend, without Docker, in warm execution environments.

One runner serves the Lambda Invoke API (lambda_api.py) and the API data plane (dataplane.py):

    invocation = lambdas.environments().invoke(function, event, max_seconds=29)

An execution environment (lambda_environment.py) is a process running the function's code with
the function's environment, this cloud's endpoint URL and fake credentials. As on Lambda:

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
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.logs.models import logs_backends

from .lambda_environment import Environment, fingerprint

# How long an unused environment is kept. Lambda does not publish it; environments are seen to
# stay warm for minutes (AWS Compute Blog, "Operating Lambda: Performance optimization"), so five.
IDLE_SECONDS = 300.0
MAX_ENVIRONMENTS = 4
LOG_TAIL_BYTES = 4096  # Invoke's LogType Tail: "the last 4 KB of the execution log"


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
        wanted = fingerprint(function, endpoint_url)
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
                    retired += [env for env in entry.idle if env.fingerprint != wanted or not env.alive]
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
                and environment.fingerprint == fingerprint(function, environment.endpoint_url))
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
