"""The JSON state file: what mysfits created, per stack, region and account.

Saved atomically (temporary file, fsync, rename) after every change, guarded by a lock
so two commands never interleave, versioned, and never overwritten when it cannot be read.

A record whose `pending` is "create" is an intent: written before the create call, so a
command killed right after AWS acted, and before it heard the answer, leaves the name the
re-run looks for. Records under `<key>/<name>` are retired: superseded by the record at
`<key>` and deleted once the replacement serves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from .config import LOCK_TIMEOUT, env_seconds
from .errors import MysfitsError

SCHEMA_VERSION = 2
RETIRED_SEPARATOR = "/"

# Version 1 keyed some records by run (`train.job.<name>`, `endpoint.model.<stamp>`); version 2
# keys each by the part of the stack it plays, and older ones as retired records.
_V1_KEYS = {
    "train.bucket": "train.bucket",
    "train.data.train": "train.data",
    "train.data.test": "train.data-test",
    "train.data.output": "train.output",
    "notebook.role": "sagemaker.role",
    "web.index": "web.page",
}
_V1_PREFIXES = {"train.job.": "train.job", "endpoint.model.": "endpoint.model", "endpoint.config.": "endpoint.config"}


def _lock_timeout() -> float:
    return env_seconds(LOCK_TIMEOUT, 3.0)


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    for section in data["stacks"].values():
        upgraded: dict[str, Any] = {}
        # newest first, so the newest run of a keyed-by-run record becomes the current one
        for key, record in sorted(section.get("resources", {}).items(), reverse=True):
            new_key = _V1_KEYS.get(key, key)
            for prefix, node in _V1_PREFIXES.items():
                if key.startswith(prefix):
                    new_key = node if node not in upgraded else f"{node}{RETIRED_SEPARATOR}{record.get('id')}"
            if "prefix" in record:  # one prefix per data record then
                record["prefixes"] = [record.pop("prefix")]
            upgraded[new_key] = record
        section["resources"] = upgraded
    data["version"] = SCHEMA_VERSION
    return data


class StateFile:
    """The whole file: a section per stack/region/account. Safe to use from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data: dict[str, Any] = {"version": SCHEMA_VERSION, "stacks": {}}
        self.lock = threading.RLock()

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
        if data.get("version") == 1:
            data = _upgrade_v1(data)
        if data.get("version") != SCHEMA_VERSION:
            raise MysfitsError(
                f"State file {self.path} has schema version {data.get('version')!r}; this mysfits reads "
                f"version {SCHEMA_VERSION}: upgrade mysfits or use another --state-file"
            )
        self.data = data
        return self

    def save(self) -> None:
        with self.lock:
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
        with self.lock:
            section = self.data["stacks"].setdefault(
                key, {"stack": stack, "region": region, "account": account, "resources": {}, "outputs": {}}
            )
        return StackState(self, section)


class StackState:
    """One stack's resources (keyed by their part of the stack) and outputs (URLs and the like)."""

    def __init__(self, file: StateFile, section: dict[str, Any]):
        self.file = file
        self.section = section

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.section["resources"]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.section["outputs"]

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def info(self) -> dict[str, Any]:
        """Facts about the section itself (the local cloud it was recorded on); saved with the next change."""
        with self.file.lock:
            return self.section.setdefault("info", {})

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        """A snapshot of (key, record), safe to iterate while other threads write."""
        with self.file.lock:
            return list(self.resources.items())

    def get(self, key: str) -> dict[str, Any] | None:
        with self.file.lock:
            return self.resources.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self.file.lock:
            if self.resources.get(key) != record:
                self.resources[key] = record
                self.file.save()

    def remove(self, key: str) -> None:
        with self.file.lock:
            if self.resources.pop(key, None) is not None:
                self.file.save()

    def retire(self, key: str) -> None:
        """Move the record at `key` aside (to `key/<id>`): superseded, to be deleted once its replacement serves."""
        with self.file.lock:
            record = self.resources.pop(key, None)
            if record is not None:
                self.resources[retired_key(key, record)] = record
                self.file.save()

    def retired(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        prefix = key + RETIRED_SEPARATOR
        return [(k, r) for k, r in self.items() if k.startswith(prefix)]

    def set_output(self, name: str, value: Any) -> None:
        with self.file.lock:
            if self.outputs.get(name) != value:
                self.outputs[name] = value
                self.file.save()

    def drop_output(self, name: str) -> None:
        with self.file.lock:
            if self.outputs.pop(name, None) is not None:
                self.file.save()


def retired_key(key: str, record: dict[str, Any]) -> str:
    return f"{key}{RETIRED_SEPARATOR}{record.get('id') or record.get('name')}"


def node_of(key: str) -> str:
    """The part of the stack a record key belongs to (`endpoint.model/old-name` → `endpoint.model`)."""
    return key.split(RETIRED_SEPARATOR, 1)[0]


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None, *, shared: bool = False) -> Iterator[None]:
    """Hold a lock beside the state file; give up with a clear message after a short wait.

    A shared lock (read-only commands) never creates the lock file or its folder: where
    nothing was ever recorded there is nothing to guard. An exclusive lock that recorded
    nothing (a command that failed before it touched the state) leaves no lock file or folder
    of its own behind.
    """
    path = Path(path)
    lock_path = path.with_name(path.name + ".lock")
    if shared and not lock_path.exists():
        yield
        return
    made_folder = not shared and not path.parent.exists()
    if not shared:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (_lock_timeout() if timeout is None else timeout)
    state_before = _fingerprint(path)
    try:
        handle, made_lock = _acquire(path, lock_path, shared, deadline)
    except FileNotFoundError:  # a shared lock whose file went away: nobody holds it
        yield
        return
    with handle:
        if not shared:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
        try:
            yield
        finally:
            if not shared:
                handle.seek(0)
                handle.truncate()
                if made_lock and _fingerprint(path) == state_before:  # nothing recorded: nothing to guard
                    with contextlib.suppress(OSError):
                        lock_path.unlink()
                    if made_folder:
                        with contextlib.suppress(OSError):
                            path.parent.rmdir()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _acquire(path: Path, lock_path: Path, shared: bool, deadline: float) -> tuple[Any, bool]:
    """The open lock file, locked, and whether this made it; opened again if the file was removed while this
    one waited for it."""
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    while True:
        made = not lock_path.exists()
        handle = open(lock_path, "r" if shared else "a+")
        while True:
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    handle.close()
                    raise MysfitsError(
                        f"Another mysfits command ({holder}) is using {path}; wait for it to finish and run this again"
                    ) from None
                time.sleep(0.1)
        if shared or _same_file(handle, lock_path):
            return handle, made
        handle.close()  # its holder removed it on the way out: lock the one there now


def _same_file(handle: Any, path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
