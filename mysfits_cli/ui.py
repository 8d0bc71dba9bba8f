"""Console output: progress on stderr, results on stdout, tables with rich.

Work in flight is shown on one board: a line per resource being created, updated, waited
for or deleted, with its status and elapsed time. On a terminal the board is live (rich);
elsewhere each change of status is printed once, as a plain line, so logs stay readable.
Several threads may report at once (`mysfits up` runs independent parts side by side).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from .errors import MysfitsError

# ---- hints that can be copied -----------------------------------------------------------------

# The global options the command line was given (`--local`, `--stack dev` ...): every hint such as
# "run `mysfits deploy-endpoint`" printed here repeats them, so copying it reaches the same stack.
_global_options: list[tuple[str, ...]] = []
# Commands that take none of them; and what `demo` implies.
_STANDALONE = {"local", "data"}
_IMPLIED = {"demo": {"--local", "--stack"}}
_HINT = re.compile(r"`mysfits (?=[a-z])([a-z-]+)")


def use_global_options(options: list[tuple[str, ...]]) -> None:
    """Each option as its command-line words, e.g. [("--local",), ("--stack", "dev")]."""
    _global_options[:] = options


def add_global_option(option: tuple[str, ...]) -> None:
    """Repeat `option` in every hint too, in place of the same option given with another value."""
    _global_options[:] = [given for given in _global_options if given[0] != option[0]] + [option]


def with_global_options(text: str) -> str:
    """`text` with the global options inserted into every "`mysfits <command>" in it."""
    if not _global_options:
        return text

    def insert(match: re.Match) -> str:
        command = match.group(1)
        if command in _STANDALONE:
            return match.group(0)
        implied = _IMPLIED.get(command, set())
        words = [word for option in _global_options if option[0] not in implied for word in option]
        return f"`mysfits {' '.join(words)} {command}" if words else match.group(0)

    return _HINT.sub(insert, text)


class _Console(Console):
    """A console whose printed text repeats the global options in its `mysfits …` hints."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(with_global_options(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = _Console(soft_wrap=True)
err = _Console(stderr=True, soft_wrap=True)


class Interrupted(MysfitsError):
    """The user asked to stop (Ctrl-C): waits end at once, nothing new is started."""

    exit_code = 130


def step(message: str) -> None:
    err.print(f"[bold cyan]>[/] {message}", highlight=False)


def done(message: str) -> None:
    err.print(f"[green]✓[/] {message}", highlight=False)


def warn(message: str) -> None:
    err.print(f"[yellow]![/] {message}", highlight=False)


def fail(message: str) -> None:
    err.print(f"[red]✗[/] {message}", highlight=False)


def error(message: str) -> None:
    """The one line a failed command ends with."""
    err.print(f"[red]Error: {escape(message)}[/]", highlight=False)


def plain(line: str) -> None:
    """A line printed exactly as given (log lines of a training job)."""
    err.print(line, markup=False, highlight=False)


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A table; with no column names, no header row. Whole numbers read with thousands separators, to the right."""
    columns, rows = list(columns), [list(row) for row in rows]
    grid = Table(title=title, title_justify="left", show_header=any(columns))
    for index, column in enumerate(columns):
        numbers = bool(rows) and all(isinstance(row[index], int) for row in rows)
        grid.add_column(column, overflow="fold", justify="right" if numbers else "left")
    for row in rows:
        grid.add_row(*(_cell(cell) for cell in row))
    # While the board is live on the terminal, everything goes through its console, above the board.
    live = board.live
    (live.console if live is not None else out).print(grid)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def duration(seconds: float) -> str:
    """A short wait as said in a sentence: "6 ms", "2.5 s", "30 s" (never "0 s")."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))} ms"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


# ---- the board ---------------------------------------------------------------------------------


@dataclass
class Activity:
    label: str
    status: str = "starting"
    detail: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Board:
    """Every activity in flight, drawn live on a terminal or as plain lines elsewhere."""

    def __init__(self, console: Console = err):
        self.console = console
        self.lock = threading.RLock()
        self.activities: list[Activity] = []
        self.live: Live | None = None
        self.cancelled = threading.Event()
        self._local = threading.local()

    # which activity this thread reports on
    @property
    def current(self) -> Activity | None:
        return getattr(self._local, "activity", None)

    @contextlib.contextmanager
    def activity(self, label: str) -> Iterator[Activity]:
        item = Activity(label)
        previous = self.current
        self._local.activity = item
        with self.lock:
            self.activities.append(item)
            self._refresh()
        try:
            yield item
        finally:
            self._local.activity = previous
            with self.lock:
                self.activities.remove(item)
                self._refresh()

    def relabel(self, label: str) -> None:
        item = self.current
        if item is not None:
            item.label = label

    def update(self, status: str, detail: str | None = None, *, announce: bool = False) -> None:
        """Change this thread's line; `announce` also prints the change where there is no live board."""
        item = self.current
        if item is None:
            return
        changed = (status, detail) != (item.status, item.detail)
        item.status, item.detail = status, detail
        if announce and changed and self.live is None and not self.console.is_terminal:
            suffix = f" ({detail})" if detail else ""
            self.console.print(f"  {item.label}: {status}{suffix}", highlight=False, markup=False)
        with self.lock:
            self._refresh()

    def _refresh(self) -> None:
        if not self.console.is_terminal:
            return
        if self.activities and self.live is None:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True,
                             get_renderable=self._render)
            self.live.start()
        elif not self.activities and self.live is not None:
            self.live.stop()
            self.live = None

    def _render(self) -> Group:
        width = self.console.width
        lines = []
        with self.lock:
            for item in list(self.activities):
                tail = f"  {item.status}  {clock(item.elapsed)}"
                if item.detail:
                    tail = f"  {item.status} ({item.detail})  {clock(item.elapsed)}"
                room = max(10, width - 3 - len(tail))
                label = item.label if len(item.label) <= room else item.label[: room - 1] + "…"
                text = Text.assemble((label, "bold"), tail)
                text.truncate(width - 3, overflow="ellipsis")
                lines.append(Spinner("dots", text=text))
        return Group(*lines)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Interrupted("interrupted")

    def sleep(self, seconds: float) -> None:
        """Sleep, waking at once when the user interrupts."""
        if self.cancelled.wait(seconds):
            raise Interrupted("interrupted")


board = Board()


def activity(label: str):
    return board.activity(label)


def report(status: str, detail: str | None = None, *, announce: bool = False) -> None:
    """The status of what this thread is doing, on its line of the board (printed too, when `announce`)."""
    board.update(status, detail, announce=announce)


def wait_for(
    label: str,
    read_status: Callable[[], tuple[str, str | None]],
    *,
    ready: set[str],
    failed: set[str] = frozenset(),
    final: set[str] = frozenset(),
    timeout: float,
    interval: float,
    on_poll: Callable[[], None] | None = None,
) -> str:
    """Poll until the status is in `ready`, on a line of the board: resource, status, elapsed time.

    `read_status` returns (status, detail); a status in `failed` raises with the detail; a status
    in `final` ends the wait quietly (the caller tells what it means). What is ready at the first
    look was not waited for: nothing is said of it.
    """
    started = time.monotonic()
    own_line = board.activity(label) if board.current is None else contextlib.nullcontext()
    first = True
    with own_line:
        while True:
            board.check_cancelled()
            status, detail = read_status()
            elapsed = time.monotonic() - started
            board.update(status, detail, announce=not (first and status in ready | final))
            if on_poll:
                on_poll()
            if status in ready:
                if not first:
                    done(f"{label}: {status} after {clock(elapsed)}")
                return status
            if status in final:
                return status
            if status in failed:
                raise MysfitsError(f"{label} is {status}: {detail or 'no reason given'}")
            if elapsed > timeout:
                raise MysfitsError(f"{label} still {status} after {clock(elapsed)}; run the command again to keep waiting")
            first = False
            board.sleep(interval)


def countdown(label: str, seconds: float, reason: str) -> None:
    """Wait out a quota window on the board, showing the time left (and saying so once, in any case)."""
    step(f"{label}: waiting {duration(seconds)} for the {reason}")
    deadline = time.monotonic() + seconds
    own_line = board.activity(label) if board.current is None else contextlib.nullcontext()
    with own_line:
        while (left := deadline - time.monotonic()) > 0:
            board.update(f"{reason}: {left:.0f}s left")
            board.sleep(min(1.0, left))
