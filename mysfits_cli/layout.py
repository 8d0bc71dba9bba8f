"""Lines for a narrow terminal: names are never cut, states move to the next line when they do not fit."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.text import Text

MIN_STATE = 12  # the narrowest state column worth keeping beside the names


@dataclass(frozen=True)
class Row:
    label: str
    name: str
    state: str = ""
    style: str = ""  # of the state
    note: str = ""  # a second line under the name (instances and prices)


def rows(items: list[Row], width: int, indent: int = 2) -> list[Text]:
    """`label  name  state` in columns; a row whose state does not fit puts it on the next line, under the name."""
    if not items:
        return []
    label_width = max(len(item.label) for item in items)
    name_at = indent + label_width + 2
    fitting = [len(item.name) for item in items if name_at + len(item.name) + 2 + MIN_STATE <= width]
    state_at = name_at + (max(fitting) if fitting else 0) + 2
    lines: list[Text] = []
    for item in items:
        head = f"{' ' * indent}{item.label:<{label_width}}  {item.name}"
        if item.state and len(head) + 2 <= state_at and state_at + len(item.state) <= width:
            lines.append(Text.assemble(head.ljust(state_at), (item.state, item.style)))
        else:
            lines.append(Text(head))
            lines += [Text(line, item.style) for line in wrapped(item.state, width, name_at)]
        lines += [Text(line, "dim") for line in wrapped(item.note, width, name_at)]
    return lines


def wrapped(text: str, width: int, indent: int) -> list[str]:
    """`text` wrapped at spaces (never inside a word) and indented; no lines for no text."""
    if not text:
        return []
    pad = " " * indent
    return textwrap.wrap(text, max(width, indent + 20), initial_indent=pad, subsequent_indent=pad,
                         break_long_words=False, break_on_hyphens=False)


def short_time(moment: datetime, now: datetime) -> str:
    """'14:05' today, 'Nov 26 14:05' this year, '2025-11-26' before (UTC)."""
    moment, now = moment.astimezone(timezone.utc), now.astimezone(timezone.utc)
    if moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    if moment.year == now.year:
        return moment.strftime("%b %d %H:%M UTC")
    return moment.strftime("%Y-%m-%d")
