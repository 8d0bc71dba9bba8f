"""How `mysfits --help` reads: plain Click help (flags as flags, defaults in full), commands in the
order a user needs them, each with its whole first sentence.

Typer labels values with its own type placeholders (`<str>`, `<int range>`, `<list[int]>`, `<bool>`
for rich help); here an option shows its metavar (or Click's word for its type) and an argument
only its name.
"""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from typing import Any, Callable

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from ..errors import UsageError

# The Click that parses the command line: Typer 0.27 and later carry their own copy (typer._click).
_CLICK = TyperCommand.__mro__[1].__module__.rsplit(".", 1)[0]
click_errors, click_types = (importlib.import_module(f"{_CLICK}.{name}") for name in ("exceptions", "types"))

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


# ---- usage mistakes, said in one line with what to type instead --------------------------------

_NOT_VALID = re.compile(r"^'(?P<value>.*)' is not a valid ")
_OUT_OF_RANGE = re.compile(r"^(?P<value>\S+) is not in the range")


def _parse(parse: Callable[[Any, list[str]], Any], ctx: Any, args: list[str]) -> Any:
    try:
        return parse(ctx, args)
    except click_errors.NoSuchOption as exc:
        raise UsageError(_misplaced(ctx, exc.option_name) or _no_such_option(ctx, exc)) from None
    except click_errors.BadParameter as exc:
        raise UsageError(_bad_value(exc)) from None


def _no_such_option(ctx: Any, exc: Any) -> str:
    near = f" (did you mean {' or '.join(exc.possibilities)}?)" if exc.possibilities else ""
    return f"No such option {exc.option_name}{near}: `{ctx.command_path} --help` lists them"


def _misplaced(ctx: Any, option: str) -> str | None:
    """When `option` is one of mysfits' own options given after the command: where it goes, and the command line
    with it there."""
    root = ctx.find_root().command
    flags = {flag: not param.is_flag for param in root.params if isinstance(param, TyperOption)
             for flag in param.opts}
    if option.split("=", 1)[0] not in flags:
        return None
    typed = sys.argv[1:]
    leading: list[str] = []
    while typed and typed[0].split("=", 1)[0] in flags:  # the global options already before the command
        takes_value = flags[typed[0].split("=", 1)[0]] and "=" not in typed[0]
        leading += typed[:2] if takes_value else typed[:1]
        typed = typed[2:] if takes_value else typed[1:]
    moved, rest = [], []
    while typed:
        word = typed.pop(0)
        name = word.split("=", 1)[0]
        if name in flags:
            moved.append(word)
            if flags[name] and "=" not in word and typed:
                moved.append(typed.pop(0))
        else:
            rest.append(word)
    command = " ".join(shlex.quote(word) for word in ["mysfits", *leading, *moved, *rest])
    return f"{option.split('=', 1)[0]} is an option of mysfits itself, which goes before the command: `{command}`"


def _bad_value(exc: Any) -> str:
    """'--rows takes a whole number of at least 10, not 'abc'' rather than Click's type names."""
    param, message = exc.param, exc.format_message()
    if param is None:
        return message
    name = param.opts[0] if isinstance(param, TyperOption) else (param.metavar or param.human_readable_name)
    kind = param.type
    if not isinstance(kind, (click_types.IntParamType, click_types.FloatParamType)):
        return f"{name}: {exc.message}"
    several = isinstance(param, TyperArgument) and param.nargs != 1
    whole = isinstance(kind, click_types.IntParamType)
    number = ("whole numbers" if whole else "numbers") if several else ("a whole number" if whole else "a number")
    low, high = getattr(kind, "min", None), getattr(kind, "max", None)
    if low is not None and high is not None:
        number += f" from {low} to {high}"
    elif low is not None:
        number += f" of at least {low}"
    elif high is not None:
        number += f" of at most {high}"
    word, out_of_range = _NOT_VALID.match(exc.message), _OUT_OF_RANGE.match(exc.message)
    given = f", not '{word.group('value')}'" if word else f", not {out_of_range.group('value')}" if out_of_range else ""
    return f"{name.strip('[]')} are {number}{given}" if several else f"{name} takes {number}{given}"


class Command(TyperCommand):
    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, _Rows(formatter))

    def parse_args(self, ctx: Any, args: list[str]) -> Any:
        return _parse(super().parse_args, ctx, args)


class Commands(TyperGroup):
    # the group's own answer to a command it does not have: a hint, or None for Click's
    unknown_command_hint: Callable[[str], str | None] | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            if type(command) is TyperCommand:
                command.__class__ = Command  # the same command, with this module's option rows

    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, _Rows(formatter))

    def parse_args(self, ctx: Any, args: list[str]) -> Any:
        return _parse(super().parse_args, ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        hint = type(self).unknown_command_hint
        if hint is not None and args and args[0] not in self.commands and not args[0].startswith("-"):
            told = hint(args[0])
            if told:
                raise UsageError(told)
        return super().resolve_command(ctx, args)

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


def typer_app(cls: type[Commands] = Commands, **kwargs: Any) -> typer.Typer:
    """A Typer app (or group of commands) whose help renders as plain, complete Click help."""
    return typer.Typer(cls=cls, rich_markup_mode=None, **kwargs)
