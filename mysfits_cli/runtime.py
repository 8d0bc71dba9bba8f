"""Opening a command's world: settings → (local cloud) → AWS clients → locked state → Context."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Iterator

from .config import LOCAL_DEFAULT_REGION, Settings
from .engine import Context
from .state import StateFile, locked


def resolve_local(settings: Settings) -> Settings:
    """With --local, point every call at the embedded local cloud, starting it when it is not running."""
    if not settings.local:
        return settings
    from .local import manager

    region = settings.region or LOCAL_DEFAULT_REGION
    cloud = manager.ensure_running(region=region)
    return replace(settings, endpoint_url=cloud.url, region=region, profile=None)


@contextlib.contextmanager
def open_stack(settings: Settings, read_only: bool = False) -> Iterator[Context]:
    """Clients, the locked state file and this stack's section of it. Read-only commands share the lock."""
    from .aws import Aws

    settings = resolve_local(settings)
    with locked(settings.state_file, shared=read_only):
        state_file = StateFile(settings.state_file).load()  # a bad state file is the first thing to hear of
        aws = Aws(settings)
        yield Context(settings=settings, aws=aws, state=state_file.stack(settings.stack, aws.region, aws.account_id))
