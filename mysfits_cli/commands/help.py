"""How `mysfits --help` reads: plain Click help (flags as flags, defaults in full), commands in the
order a user needs them, each with its whole first sentence.

Typer labels values with its own type placeholders (`<str>`, `<int range>`, `<list[int]>`, `<bool>`
for rich help); here an option shows its metavar (or Click's word for its type) and an argument
only its name.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# The first hour: try it all locally, preview, bring up, look, ask, then the parts one by one, and clean up.
ORDER = ("demo", "plan", "up", "status", "recommend", "train", "deploy-endpoint", "evaluate", "teardown",
         "render", "data", "local")
PLACEHOLDER = re.compile(r" <([^<>]+)>")
CLICK_WORDS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER", "float range": "NUMBER",
               "path": "PATH", "bool": ""}


class _Rows:
    """A help formatter whose option rows say TEXT, INTEGER ... where Typer would write <str>, <int> ...,
    and print "[" where a help text escaped it for rich markup ("\\[env: ...]")."""

    def __init__(self, formatter: Any):
        self._formatter = formatter

    def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
        rows = [(_plain(first), second.replace("\\[", "[")) for first, second in rows]
        self._formatter.write_dl(rows, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._formatter, name)


def _plain(term: str) -> str:
    if not term.startswith("-"):  # an argument: its name (or metavar) says it all
        return PLACEHOLDER.sub("", term)
    return PLACEHOLDER.sub(lambda m: f" {CLICK_WORDS[m.group(1)]}" if CLICK_WORDS.get(m.group(1)) else "", term)


class Command(TyperCommand):
    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, _Rows(formatter))


class Commands(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            if type(command) is TyperCommand:
                command.__class__ = Command  # the same command, with this module's option rows

    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, _Rows(formatter))

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        if ctx.parent is not None:  # a group of subcommands keeps the order they were declared in
            return names
        return sorted(names, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Each command's first sentence, wrapped rather than cut off."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def typer_app(**kwargs: Any) -> typer.Typer:
    """A Typer app (or group of commands) whose help renders as plain, complete Click help."""
    return typer.Typer(cls=Commands, rich_markup_mode=None, **kwargs)
