"""Run one Lambda invocation in this process, the way the Python runtime would.

    python -m mysfits_cli.local.lambda_runner < request.json

The working directory is the function's extracted code (as /var/task is on Lambda).
stdin:  {"handler": "module.function", "event": {...}, "context": {...}}
stdout: one JSON line, {"ok": true, "result": <returned value>} or
        {"ok": false, "errorType": ..., "errorMessage": ...}
stderr: everything the function prints or logs; the caller keeps it as the function's log.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


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


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(f"Bad handler '{handler}': expected <module>.<function>")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def main() -> int:
    # Keep the real stdout for the result alone; anything the function writes,
    # from Python or from C, goes to stderr with the rest of its log.
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, format="[%(levelname)s]\t%(asctime)s\t%(message)s")
    sys.path.insert(0, os.getcwd())

    try:
        request = json.load(sys.stdin)
        handler = _load_handler(request["handler"])
        result = handler(request["event"], LambdaContext(request.get("context", {})))
        envelope = json.dumps({"ok": True, "result": result})
    except Exception as exc:  # the runtime reports any failure of the function as an error result
        traceback.print_exc()
        envelope = json.dumps({"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc)})
    result_out.write(envelope + "\n")
    result_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
