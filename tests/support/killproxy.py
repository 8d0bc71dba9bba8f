"""A recording proxy in front of a test server that kills the CLI right after AWS acted, or between its calls.

The CLI is pointed at the proxy (`--endpoint-url`). Every request is forwarded to the server;
when a mutating request that has not been a kill point yet comes back from the server, the
proxy kills the CLI's process group (SIGKILL) before it can hear the answer: AWS acted, the
tool never knew. Run a command again and again until a run makes no new mutating call, and
every mutating call of the command has been a kill point once.

`Moment`s add kill points between mutating calls, each used once too: as a request arrives that
AWS has not seen yet (an upload in progress, a wait's poll), or as the CLI prints a line (the
data being generated and encoded, when there is no request to see).

    with KillProxy(server.url) as proxy:
        runs = proxy.until_converged(lambda url: start_cli(url, "up", "api"))
        runs = proxy.until_converged(start_train, moments=[Moment(line="Creating s3-data"),
                                                           Moment(request="sagemaker DescribeTrainingJob")])
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

# Operations that change something (JSON and query protocols name them; REST ones are told by method).
MUTATING_PREFIXES = ("Create", "Put", "Update", "Delete", "Tag", "Untag", "Add", "Remove", "Attach", "Detach",
                     "Stop", "Start", "Import", "Upload", "Copy", "Publish")
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/")
_NAMES = re.compile(r"(name|id)$", re.IGNORECASE)


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    target: str  # the resource it is about: path and names, so each resource's call is its own kill point
    mutating: bool = field(default=True, compare=False)

    def __str__(self) -> str:
        return f"{self.service} {self.operation} {self.target}"


@dataclass(frozen=True)
class Moment:
    """A kill point between mutating calls: as the `nth` request of a run arrives whose "service operation
    target" holds `request`, before the server sees it; or as the CLI prints a line that holds `line`."""

    request: str | None = None
    line: str | None = None
    nth: int = 1

    def __str__(self) -> str:
        return f"at request {self.request} #{self.nth}" if self.request else f"at line {self.line!r}"


def describe_request(method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
    """The call a request is (reads too: `mutating` tells them apart)."""
    signed_for = _SERVICE.search(headers.get("authorization", ""))
    service = signed_for["service"] if signed_for else "?"
    target_header = headers.get("x-amz-target")
    if target_header:  # JSON protocol: SageMaker, Logs, CodeCommit, Cognito
        operation = target_header.rsplit(".", 1)[-1]
        try:
            fields = json.loads(body or b"{}")
        except ValueError:
            fields = {}
        names = sorted(str(v) for k, v in fields.items() if _NAMES.search(k) and isinstance(v, str))
        return Call(service, operation, ",".join(names), operation.startswith(MUTATING_PREFIXES))
    query = parse_qs(urlsplit(path).query)
    form = parse_qs(body.decode("latin-1")) if headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded") else {}
    action = (form.get("Action") or query.get("Action") or [None])[0]
    if action:  # query protocol: IAM, STS, ELBv2, EC2
        names = sorted(v[0] for k, v in form.items() if _NAMES.search(k))
        return Call(service, action, ",".join(names), action.startswith(MUTATING_PREFIXES))
    # REST: API Gateway, Lambda, S3
    return Call(service, method, urlsplit(path).path, method in ("POST", "PUT", "PATCH", "DELETE"))


@dataclass
class Run:
    seconds: float
    returncode: int
    killed_after: Call | Moment | None  # the kill point of this run: a mutating call AWS answered, or a moment
    calls: list[Call] = field(default_factory=list)  # the mutating calls that reached the server
    stdout: str = ""
    stderr: str = ""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a killed client hangs up mid-answer: expected
        pass


class KillProxy:
    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.kill_points: list[Call | Moment] = []  # every point a run was killed at, in order
        self.calls: list[Call] = []  # every mutating call of the current run
        self._process: subprocess.Popen | None = None
        self._armed = False
        self._moments: list[Moment] = []  # the current command's moments not yet killed at
        self._requests: list[str] = []  # every request of the current run, as "service operation target"
        self._fired: Call | Moment | None = None
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> "KillProxy":
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def run(self, start: Callable[[str], subprocess.Popen], kill: bool = True, timeout: float = 300) -> Run:
        """Start the CLI (through the proxy); kill it at its first kill point not yet used: right after a
        mutating call, or at one of the moments."""
        started = time.monotonic()
        with self._lock:
            self.calls, self._requests, self._fired, self._armed = [], [], None, kill
            self._process = start(self.url)
        stderr: list[str] = []
        reader = threading.Thread(target=self._read_lines, args=(self._process.stderr, stderr), daemon=True)
        reader.start()
        try:
            stdout = self._process.stdout.read()
            self._process.wait(timeout=timeout)
            reader.join(timeout)
        finally:
            with self._lock:
                self._armed = False
        return Run(time.monotonic() - started, self._process.returncode, self._fired, list(self.calls), stdout,
                   "".join(stderr))

    def until_converged(self, start: Callable[[str], subprocess.Popen], check: Callable[[Run], None] = lambda r: None,
                        limit: int = 80, moments: list[Moment] = ()) -> list[Run]:
        """Kill the command after each of its mutating calls, and at each moment, in turn, re-running it each
        time, until it completes."""
        self._moments = list(moments)
        runs: list[Run] = []
        for _ in range(limit):
            run = self.run(start)
            runs.append(run)
            check(run)
            if run.killed_after is None:
                if run.returncode != 0:
                    raise AssertionError(f"the run after {len(runs) - 1} kills failed:\n{run.stdout}\n{run.stderr}")
                if self._moments:
                    raise AssertionError(f"converged without reaching {', '.join(map(str, self._moments))}")
                return runs
        raise AssertionError(f"no convergence after {limit} runs; kill points: {[str(c) for c in self.kill_points]}")

    def _read_lines(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self._fire_at(lambda moment: moment.line is not None and moment.line in line)

    def _arrived(self, call: Call) -> bool:
        """Note a request as it arrives; True when the CLI was killed at it."""
        with self._lock:
            self._requests.append(str(call))
            requests = list(self._requests)

        def matches(moment: Moment) -> bool:
            if moment.request is None or moment.request not in requests[-1]:
                return False
            return sum(moment.request in request for request in requests) == moment.nth

        return self._fire_at(matches)

    def _fire_at(self, matches: Callable[[Moment], bool]) -> bool:
        """Kill the CLI at the first unused moment that matches; True when the CLI is (or was just) killed."""
        with self._lock:
            moment = next((m for m in self._moments if matches(m)), None)
            if not self._armed or self._fired is not None or moment is None:
                return self._fired is not None
            self._moments.remove(moment)
            process = self._fire(moment)
        _kill(process)
        return True

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                call = describe_request(self.command, self.path, headers, body)
                if proxy._arrived(call):
                    self.close_connection = True
                    return  # killed as the request arrived: the server never saw it
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    response = upstream.getresponse()
                    payload = response.read()
                finally:
                    upstream.close()
                if call.mutating and proxy._record(call):
                    self.close_connection = True
                    return  # killed: the answer never reaches the CLI
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        return Handler

    def _record(self, call: Call) -> bool:
        """Note the call; True when the CLI was killed for it."""
        with self._lock:
            self.calls.append(call)
            if not self._armed or self._fired is not None or call in self.kill_points:
                return self._fired is not None
            process = self._fire(call)
        _kill(process)
        return True

    def _fire(self, point: Call | Moment) -> subprocess.Popen | None:
        """Make `point` this run's kill point (with the lock held); the process to kill."""
        self._fired = point
        self.kill_points.append(point)
        return self._process


def _kill(process: subprocess.Popen | None) -> None:
    """SIGKILL the CLI's process group, as a closed terminal or `kill -9` of its job would."""
    if process is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
