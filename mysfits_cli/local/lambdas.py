"""Invoke a function stored in moto's Lambda backend, without Docker.

The function's zip is extracted once per code SHA-256 into a cache directory and
run by `python -m mysfits_cli.local.lambda_runner` in a separate process, with the
function's environment, this cloud's endpoint URL and fake credentials, and killed
when its timeout runs out. What it prints goes to CloudWatch Logs in moto, under
/aws/lambda/<name>, like Lambda's START/END/REPORT lines.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.logs.models import logs_backends

# A Lambda's init phase has its own budget on AWS; locally the interpreter start
# and imports run inside the kill timer, so they get this much on top.
STARTUP_ALLOWANCE_SECONDS = 1.0


class FunctionNotFound(Exception):
    pass


@dataclass
class Invocation:
    completed: bool  # False when the function was killed at its timeout
    ok: bool = False  # the handler returned (rather than raised or crashed)
    result: Any = None
    error: str = ""
    log: list[str] = field(default_factory=list)


def default_cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"mysfits-lambda-cache-{uid}"


def find_function(function_arn: str, default_account: str, default_region: str) -> Any:
    """The moto function for an ARN (with an optional qualifier) or a plain name."""
    parts = function_arn.split(":")
    account, region = default_account, default_region
    if function_arn.startswith("arn:") and len(parts) >= 7:
        region, account = parts[3] or region, parts[4] or account
    try:
        return lambda_backends[account][region].get_function(function_arn)
    except Exception as exc:  # moto raises its own not-found error types
        raise FunctionNotFound(function_arn) from exc


def invoke(
    function: Any,
    event: dict[str, Any],
    *,
    endpoint_url: str,
    cache_dir: Path,
    max_seconds: float | None = None,
) -> Invocation:
    code_dir = _extract(function.code_bytes, cache_dir)
    timeout = float(function.timeout or 3)
    if max_seconds is not None:
        timeout = min(timeout, max_seconds)
    request_id = str(uuid.uuid4())
    stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
    request = {
        "handler": function.handler,
        "event": event,
        "context": {
            "function_name": function.function_name,
            "invoked_function_arn": function.function_arn,
            "memory_limit_in_mb": function.memory_size,
            "aws_request_id": request_id,
            "log_group_name": function.logs_group_name,
            "log_stream_name": stream,
            "timeout": timeout,
        },
    }
    started = time.monotonic()
    invocation = _run(code_dir, _environment(function, endpoint_url, code_dir, stream), request, timeout)
    _write_log(function, stream, request_id, invocation, (time.monotonic() - started) * 1000)
    return invocation


def _run(code_dir: Path, env: dict[str, str], request: dict[str, Any], timeout: float) -> Invocation:
    process = subprocess.Popen(
        [sys.executable, "-m", "mysfits_cli.local.lambda_runner"],
        cwd=code_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so a timeout kills whatever the function started too
    )
    try:
        out, err = process.communicate(json.dumps(request).encode(), timeout=timeout + STARTUP_ALLOWANCE_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        log = err.decode(errors="replace").splitlines()
        return Invocation(completed=False, error=f"Task timed out after {timeout:.2f} seconds", log=log)
    log = err.decode(errors="replace").splitlines()
    try:
        envelope = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Invocation(completed=True, error=f"Runtime exited with code {process.returncode}", log=log)
    if envelope.get("ok"):
        return Invocation(completed=True, ok=True, result=envelope.get("result"), log=log)
    return Invocation(
        completed=True, error=f"{envelope.get('errorType')}: {envelope.get('errorMessage')}", log=log
    )


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


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


def _write_log(function: Any, stream: str, request_id: str, invocation: Invocation, duration_ms: float) -> None:
    lines = [f"START RequestId: {request_id} Version: $LATEST", *invocation.log]
    if not invocation.completed:
        lines.append(f"{datetime.now(timezone.utc).isoformat()} {request_id} {invocation.error}")
    lines += [
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tMemory Size: {function.memory_size} MB",
    ]
    try:
        logs = logs_backends[function.account_id][function.region]
        group = function.logs_group_name
        if group not in logs.groups:
            logs.create_log_group(group, {})
        logs.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        logs.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
    except Exception as exc:  # the log is a convenience; the invocation's answer must not depend on it
        print(f"could not write the log of {function.function_name}: {exc}", file=sys.stderr)
