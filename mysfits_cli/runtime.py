"""Opening a command's world: settings → (local cloud) → AWS clients → locked state → Context."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .config import DEFAULT_STATE_FILE, LOCAL_DEFAULT_REGION, LOCAL_STATE_FILE, Settings
from .engine import Context
from .errors import MysfitsError
from .state import StackState, StateFile, locked

if TYPE_CHECKING:
    from .local.manager import LocalCloud

# Where in a stack's section the local cloud it was recorded against is kept.
LOCAL_CLOUD_INFO = "local_cloud"


def state_path(settings: Settings) -> Path:
    """The state file: the one given, else the local cloud's own (with --local), else the folder's."""
    if settings.state_file is not None:
        return Path(settings.state_file)
    if settings.local:
        from .local import manager

        return manager.home() / LOCAL_STATE_FILE
    return Path(DEFAULT_STATE_FILE)


def resolve_local(settings: Settings) -> tuple[Settings, "LocalCloud | None"]:
    """The settings a command runs with, and the local cloud it runs on (started when needed) with --local.

    A region given but unknown is an error before anything starts.
    """
    if settings.region:
        from .aws import check_region

        check_region(settings.region)
    settings = replace(settings, state_file=state_path(settings))
    if not settings.local:
        return settings, None
    from .local import manager

    region = settings.region or LOCAL_DEFAULT_REGION
    try:
        cloud = manager.ensure_running(region=region, announce=_say_starting)
    except OSError as exc:
        raise MysfitsError(f"Cannot use the local cloud's home {manager.home()} ({exc.strerror or exc}): "
                           "set MYSFITS_LOCAL_HOME to a folder you can write") from exc
    return replace(settings, endpoint_url=cloud.url, region=region, profile=None), cloud


def _say_starting(url: str) -> None:
    from . import ui

    ui.step(f"Starting the local cloud at {url} (`mysfits local stop` stops it)")


@contextlib.contextmanager
def open_stack(settings: Settings, read_only: bool = False) -> Iterator[Context]:
    """Clients, the locked state file and this stack's section of it. Read-only commands share the lock."""
    from .aws import Aws

    given = settings.state_file is not None
    settings, cloud = resolve_local(settings)
    with _state_lock(settings.state_file, read_only):
        state_file = StateFile(settings.state_file).load()  # a bad state file is the first thing to hear of
        aws = Aws(settings)
        state = state_file.stack(settings.stack, aws.region, aws.account_id)
        if cloud is not None:
            _check_local_cloud(state, cloud, record=not read_only)
            if not given and not state.items() and Path(DEFAULT_STATE_FILE).exists():
                from . import ui

                ui.warn(f"With --local the state is kept in {state.path}, not in this folder's {DEFAULT_STATE_FILE}: "
                        f"add `--state-file {DEFAULT_STATE_FILE}` to use that one")
        yield Context(settings=settings, aws=aws, state=state)


@contextlib.contextmanager
def _state_lock(path: Path, read_only: bool) -> Iterator[None]:
    """The state file's lock; a folder that cannot hold it is one line naming the file."""
    if path.is_dir():
        raise MysfitsError(f"The state file {path} is a folder: pass --state-file with the path of a file, "
                           f"such as {path / 'state.json'}")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(locked(path, shared=read_only))
        except OSError as exc:
            raise MysfitsError(f"Cannot use the state file {path} ({exc.strerror or exc}): "
                               "pass --state-file with a path in a folder you can write") from exc
        yield


def _check_local_cloud(state: StackState, cloud: "LocalCloud", record: bool) -> None:
    """Say so when the state was recorded against a local cloud that has since stopped (and lost it all)."""
    from . import ui

    current = {"url": cloud.url, "pid": cloud.pid, "started_at": cloud.started_at}
    recorded = state.info.get(LOCAL_CLOUD_INFO)
    stale = recorded is not None and (recorded.get("pid"), recorded.get("started_at")) != (cloud.pid, cloud.started_at)
    count = len(state.items())
    if stale and count:
        started = str(recorded.get("started_at", "")).replace("T", " ")[:16]
        ui.warn(f"The {count} resources in {state.path} were recorded on a local cloud started {started} that has "
                "stopped since (it keeps everything in memory), so they are gone: `mysfits up` builds "
                "the stack again, `mysfits teardown --yes` forgets them")
    if record:
        state.info[LOCAL_CLOUD_INFO] = current  # saved with the next change
