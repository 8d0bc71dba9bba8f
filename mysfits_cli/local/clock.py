"""The local cloud's clock: AWS seconds, running `scale` times as long in real time.

Every timed behaviour of the strict rules and of the latency model reads this clock or
schedules work on it, so one setting speeds all of them up alike. Tests may `advance`
it to reach a later moment without waiting.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
import traceback
from typing import Callable

# Longest real wait between two looks at the clock, so an advance or a stop is seen soon.
_MAX_REAL_WAIT = 0.5


class Clock:
    def __init__(self, scale: float) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be greater than 0, not {scale}")
        self.scale = scale
        self._started = time.monotonic()
        self._offset = 0.0
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        # one thread at a time runs what is due (the runner, or one that advances the clock), so
        # transitions run one after another in their order, and an advance returns after them
        self._running = threading.RLock()
        self._runner: threading.Thread | None = None
        self._closed = False

    def now(self) -> float:
        """AWS seconds since this clock started."""
        return self._offset + (time.monotonic() - self._started) / self.scale

    def advance(self, seconds: float) -> None:
        """Jump `seconds` AWS seconds ahead, running what falls due on the way."""
        with self._changed:
            self._offset += seconds
            self._changed.notify_all()
        self._run_due()

    def call_later(self, seconds: float, action: Callable[[], None]) -> None:
        """Run `action` `seconds` AWS seconds from now (at once, in this thread, if not positive)."""
        if seconds <= 0:
            action()
            return
        with self._changed:
            heapq.heappush(self._due, (self.now() + seconds, next(self._order), action))
            self._start_runner()
            self._changed.notify_all()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Block for `seconds` AWS seconds; False if `stop` was set first."""
        deadline = self.now() + seconds
        with self._changed:
            while self.now() < deadline:
                if stop is not None and stop.is_set():
                    return False
                self._changed.wait(min((deadline - self.now()) * self.scale, _MAX_REAL_WAIT))
        return stop is None or not stop.is_set()

    def close(self) -> None:
        """Stop running scheduled work; what was still due is dropped."""
        with self._changed:
            self._closed = True
            self._due.clear()
            self._changed.notify_all()
        runner = self._runner
        if runner is not None and runner is not threading.current_thread():
            runner.join(timeout=2)

    def _start_runner(self) -> None:
        if self._runner is None and not self._closed:
            self._runner = threading.Thread(target=self._run, name="local-cloud-clock", daemon=True)
            self._runner.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                wait = _MAX_REAL_WAIT if not self._due else (self._due[0][0] - self.now()) * self.scale
                if wait > 0:
                    self._changed.wait(min(wait, _MAX_REAL_WAIT))
                    continue
            self._run_due()

    def _run_due(self) -> None:
        with self._running:
            while True:
                with self._changed:
                    if not self._due or self._due[0][0] > self.now():
                        return
                    _, _, action = heapq.heappop(self._due)
                try:
                    action()
                except Exception:  # one failing transition must not stop the others
                    traceback.print_exc(file=sys.stderr)
