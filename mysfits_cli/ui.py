"""Console output: progress on stderr, results on stdout, tables with rich."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from rich.console import Console
from rich.table import Table

from .errors import MysfitsError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def step(message: str) -> None:
    err.print(f"[bold cyan]>[/] {message}")


def done(message: str) -> None:
    err.print(f"[green]✓[/] {message}")


def warn(message: str) -> None:
    err.print(f"[yellow]![/] {message}")


def fail(message: str) -> None:
    err.print(f"[red]✗[/] {message}")


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(("" if cell is None else str(cell)) for cell in row))
    out.print(grid)


def wait_for(
    label: str,
    read_status: Callable[[], tuple[str, str | None]],
    *,
    ready: set[str],
    failed: set[str] = frozenset(),
    timeout: float,
    interval: float,
    on_poll: Callable[[], None] | None = None,
) -> str:
    """Poll until the status is in `ready`, with a live line: resource, status, elapsed time.

    `read_status` returns (status, detail); a status in `failed` raises with the detail.
    """
    started = time.monotonic()
    with err.status(f"{label}: starting") as spinner:
        while True:
            status, detail = read_status()
            elapsed = time.monotonic() - started
            suffix = f" ({detail})" if detail else ""
            spinner.update(f"{label}: [bold]{status}[/]{suffix}  {_clock(elapsed)}")
            if on_poll:
                on_poll()
            if status in ready:
                done(f"{label}: {status} after {_clock(elapsed)}")
                return status
            if status in failed:
                raise MysfitsError(f"{label} is {status}: {detail or 'no reason given'}")
            if elapsed > timeout:
                raise MysfitsError(
                    f"{label} still {status} after {_clock(elapsed)}; run the command again to keep waiting"
                )
            time.sleep(interval)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"
