"""The settings and the clock the installed emulation plays by.

`emulation.install()` activates one context; with none active (moto alone, or only
the SageMaker emulation installed by a test) the local cloud is lenient and instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .settings import LENIENT, CloudSettings


@dataclass(frozen=True)
class Context:
    settings: CloudSettings
    clock: Clock

    @property
    def strict(self) -> bool:
        return self.settings.strict


_LENIENT = Context(LENIENT, Clock(LENIENT.time_scale))
_active: Context | None = None


def current() -> Context:
    return _active or _LENIENT


def installed() -> Context | None:
    """The context `activate` set, if any."""
    return _active


def activate(context: Context) -> None:
    global _active
    _active = context


def deactivate() -> None:
    global _active
    if _active is not None:
        _active.clock.close()
    _active = None
