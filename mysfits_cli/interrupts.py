"""Ctrl-C is one interrupt, however many times it is delivered at once.

A terminal's Ctrl-C signals each process of the foreground job once, but `timeout -s INT` signals
the command and then its whole process group: the command hears SIGINT twice in the same instant.
An interrupt within a moment of the previous one is the same interrupt, and is ignored, so that the
command still finishes the calls in flight, saves its state and says what still runs. Only one
that comes later is "Ctrl-C again", which quits at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from types import FrameType
from typing import Iterator

SAME_INTERRUPT_SECONDS = 0.5

_last: float | None = None


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _last
    now = time.monotonic()
    repeated = _last is not None and now - _last < SAME_INTERRUPT_SECONDS
    _last = now
    if not repeated:
        raise KeyboardInterrupt


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT back while a few calls that must happen together run (start a process, record it); then hear it.

    Only the main thread hears signals: elsewhere this holds nothing back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    heard: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: heard.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if heard and callable(previous):
        previous(signal.SIGINT, None)


def install() -> None:
    """Hear SIGINT this way in this process (from the main thread, where Python runs signal handlers).

    A process started with SIGINT ignored (`nohup`, a shell's background job) keeps ignoring it.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
