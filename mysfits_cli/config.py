"""Settings from flags and the environment, resolved the way the AWS CLI does."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import MysfitsError

DEFAULT_STACK = "mysfits"
DEFAULT_STATE_FILE = ".mysfits/state.json"
LOCAL_STATE_FILE = "state.json"  # with --local: in the local cloud's home, beside its record
LOCAL_DEFAULT_REGION = "us-east-1"
TAG_KEY = "mysfits:stack"
REGION_TAG_KEY = "mysfits:region"  # on global resources (IAM): the region whose stack owns it
POLL_SECONDS = "MYSFITS_POLL_SECONDS"  # how often waits ask AWS again
LOCK_TIMEOUT = "MYSFITS_LOCK_TIMEOUT"  # how long a command waits for another one's lock on the state


@dataclass
class Settings:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    stack: str = DEFAULT_STACK
    state_file: Path | None = None  # None: the default (see runtime.state_path)
    local: bool = False

    @property
    def emulated(self) -> bool:
        """True when AWS is stood in for (moto server, the local cloud, LocalStack)."""
        return bool(self.endpoint_url)

    @property
    def stand_in(self) -> str | None:
        """What stands in for AWS, in words (None on AWS itself): nothing bills there."""
        if self.local:
            return "the local cloud"
        return f"the AWS stand-in at {self.endpoint_url}" if self.endpoint_url else None

    @property
    def poll_seconds(self) -> float:
        return env_seconds(POLL_SECONDS, 0.2 if self.emulated else 10.0)

    def tags(self) -> dict[str, str]:
        return {TAG_KEY: self.stack}

    def tag_list(self) -> list[dict[str, str]]:
        """The stack's tags in the Key/Value list form most AWS APIs take."""
        return [{"Key": key, "Value": value} for key, value in self.tags().items()]

    def is_ours(self, tags: dict[str, str] | list[dict[str, str]] | None) -> bool:
        """Whether tags (a dict, or a Key/Value list) carry this stack's tag."""
        if isinstance(tags, list):
            tags = {t["Key"]: t["Value"] for t in tags}
        return bool(tags) and all(tags.get(k) == v for k, v in self.tags().items())

    def name(self, suffix: str) -> str:
        """The deterministic name of one of this stack's resources."""
        return f"{self.stack}-{suffix}"


def env_first(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def env_seconds(name: str, default: float) -> float:
    """A number of seconds from the environment variable `name`, else `default`."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise MysfitsError(f"{name} must be a number of seconds, not '{value}'")
    return seconds


def check_environment() -> None:
    """The settings read from the environment later on, checked before anything starts."""
    for name in (POLL_SECONDS, LOCK_TIMEOUT):
        env_seconds(name, 0.0)


def check_endpoint_url(url: str) -> str:
    """An endpoint URL's form: http(s)://host[:port][/path]."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise MysfitsError(f"Invalid --endpoint-url '{url}': give a URL such as http://localhost:4566")
    return url
