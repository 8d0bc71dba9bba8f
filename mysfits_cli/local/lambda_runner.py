"""One warm execution environment of a Lambda function, the way the Python runtime runs it.

    python -m mysfits_cli.local.lambda_runner <module.function>

The working directory is the function's extracted code (as /var/task is on Lambda). The
handler's module is imported once, at start (the init phase: module-level code runs once
per environment, as on Lambda); then each line on stdin is one invocation, until stdin closes.

stdout (results only, one JSON line each):
    {"init": {"ok": true, "ms": 12.3}}                        once, after the import
    {"init": {"ok": false, "errorType": ..., "errorMessage": ...}}   and the process exits
    {"ok": true, "result": <returned value>, "maxMemoryMB": 40}
    {"ok": false, "errorType": ..., "errorMessage": ..., "stackTrace": [...], "maxMemoryMB": 40}
stdin:  {"event": {...}, "context": {...}} per invocation
stderr: everything the function prints or logs, then END_MARK + the request id on a line of its
        own after each invocation, so the caller knows where one invocation's log ends.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from typing import Any

END_MARK = "\x1emysfits-invocation-end "


class LambdaContext:
    """The attributes and method of the runtime's context object that handlers use."""

    def __init__(self, spec: dict[str, Any]):
        self.function_name = spec.get("function_name", "")
        self.function_version = spec.get("function_version", "$LATEST")
        self.invoked_function_arn = spec.get("invoked_function_arn", "")
        self.memory_limit_in_mb = int(spec.get("memory_limit_in_mb", 128))
        self.aws_request_id = spec.get("aws_request_id", "")
        self.log_group_name = spec.get("log_group_name", "")
        self.log_stream_name = spec.get("log_stream_name", "")
        self._deadline = time.monotonic() + float(spec.get("timeout", 3))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InitError(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def load_handler(handler: str) -> Any:
    """The handler function, or InitError with the runtime's error type and message."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from None
    except Exception as error:  # module-level code failed: the runtime reports it under its own type
        traceback.print_exc()
        raise InitError(type(error).__name__, str(error)) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'") from None


def _max_memory_mb() -> int:
    """Peak memory of this process (VmHWM: ru_maxrss can carry the parent's figure over exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return max(1, int(line.split()[1]) // 1024)
    except OSError:
        pass
    return max(1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _stack(error: BaseException) -> list[str]:
    return traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])


def invoke_once(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run the handler on one event: the outcome, without the memory figure."""
    try:
        return {"ok": True, "result": handler(request["event"], LambdaContext(request.get("context", {})))}
    except Exception as error:  # the runtime reports any failure of the function as an error result
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr)
        traceback.print_exc()
        return {"ok": False, "errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": _stack(error)}


def serialise(outcome: dict[str, Any]) -> str:
    """The outcome as one JSON line; a result JSON cannot carry is the runtime's marshal error."""
    try:
        return json.dumps(outcome)
    except (TypeError, ValueError) as error:
        message = f"Unable to marshal response: {error}"
        print(f"[ERROR] Runtime.MarshalError: {message}", file=sys.stderr)
        return json.dumps({"ok": False, "errorType": "Runtime.MarshalError", "errorMessage": message,
                           "stackTrace": [], "maxMemoryMB": outcome.get("maxMemoryMB")})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Keep the real stdout for results alone; anything the function writes, from Python or
    # from C, goes to stderr with the rest of its log.
    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, format="[%(levelname)s]\t%(asctime)s\t%(message)s")
    sys.path.insert(0, os.getcwd())

    def answer(line: str) -> None:
        results.write(line + "\n")
        results.flush()

    started = time.perf_counter()
    try:
        handler = load_handler(argv[0] if argv else "")
    except InitError as error:
        print(f"[ERROR] {error.error_type}: {error}", file=sys.stderr, flush=True)
        answer(json.dumps({"init": {"ok": False, "errorType": error.error_type, "errorMessage": str(error)}}))
        return 1
    answer(json.dumps({"init": {"ok": True, "ms": (time.perf_counter() - started) * 1000}}))

    for line in sys.stdin:
        request = json.loads(line)
        outcome = {**invoke_once(handler, request), "maxMemoryMB": _max_memory_mb()}
        line = serialise(outcome)
        print(END_MARK + request.get("context", {}).get("aws_request_id", ""), file=sys.stderr, flush=True)
        answer(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
