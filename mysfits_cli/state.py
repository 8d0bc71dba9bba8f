"""The JSON state file: what mysfits created, per stack, region and account.

Saved atomically (temporary file, fsync, rename) after every change, guarded by a lock
so two commands never interleave, versioned, and never overwritten when it cannot be read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import MysfitsError

SCHEMA_VERSION = 1


def _lock_timeout() -> float:
    return float(os.environ.get("MYSFITS_LOCK_TIMEOUT", "3"))


class StateFile:
    """The whole file: a section per stack/region/account."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data: dict[str, Any] = {"version": SCHEMA_VERSION, "stacks": {}}

    def load(self) -> "StateFile":
        if not self.path.exists():
            return self
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MysfitsError(
                f"State file {self.path} cannot be read ({exc}); fix it or move it aside "
                "(mysfits never overwrites it)"
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("stacks"), dict):
            raise MysfitsError(f"State file {self.path} is not a mysfits state file; fix it or move it aside")
        if data.get("version") != SCHEMA_VERSION:
            raise MysfitsError(
                f"State file {self.path} has schema version {data.get('version')!r}; this mysfits reads "
                f"version {SCHEMA_VERSION}: upgrade mysfits or use another --state-file"
            )
        self.data = data
        return self

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def stack(self, stack: str, region: str, account: str) -> "StackState":
        key = f"{stack}/{region}/{account}"
        section = self.data["stacks"].setdefault(
            key, {"stack": stack, "region": region, "account": account, "resources": {}, "outputs": {}}
        )
        return StackState(self, section)


class StackState:
    """One stack's resources (in creation order) and outputs (URLs and the like)."""

    def __init__(self, file: StateFile, section: dict[str, Any]):
        self.file = file
        self.section = section

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.section["resources"]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.section["outputs"]

    def get(self, key: str) -> dict[str, Any] | None:
        return self.resources.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        if self.resources.get(key) != record:
            self.resources[key] = record
            self.file.save()

    def remove(self, key: str) -> None:
        if self.resources.pop(key, None) is not None:
            self.file.save()

    def set_output(self, name: str, value: Any) -> None:
        if self.outputs.get(name) != value:
            self.outputs[name] = value
            self.file.save()

    def drop_output(self, name: str) -> None:
        if self.outputs.pop(name, None) is not None:
            self.file.save()


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock beside the state file; give up with a clear message after a short wait."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + (_lock_timeout() if timeout is None else timeout)
    with open(lock_path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise MysfitsError(
                        f"Another mysfits command ({holder}) is using {path}; wait for it to finish and run this again"
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
