"""Which instance type a part of the stack runs on: the one asked for, else the one it runs on, else the default.

Older types are not offered in newer regions (`instance_types`): a default the region does not
offer gives way to the nearest current type, said in one line; a type asked for that the region
does not offer is an error before anything is created, naming one that works.
"""

from __future__ import annotations

from . import instance_types, ui
from .engine import Context
from .errors import MysfitsError

WHAT = {"notebook": "notebook instances", "training": "training", "hosting": "endpoints"}


def choose(region: str, use: str, asked: str | None, recorded: str | None, default: str,
           flag: str) -> tuple[str, str | None]:
    """(instance type, a note when the default had to give way)."""
    if asked:
        if not instance_types.offered(use, asked, region):
            instead = instance_types.suggest(use, asked, region)
            hint = f": pass {flag} with one it offers, such as {instead}" if instead else f": pass another {flag}"
            raise MysfitsError(f"{asked} is not offered for {WHAT[use]} in {region}{hint}")
        return asked, None
    if recorded:
        return recorded, None  # what runs now stays, unless asked otherwise
    chosen = instance_types.suggest(use, default, region)
    if chosen is None:
        raise MysfitsError(f"{default} is not offered for {WHAT[use]} in {region} and has no successor there: "
                           f"pass {flag}")
    note = None if chosen == default else (
        f"{default} is not offered for {WHAT[use]} in {region}: using {chosen} instead ({flag} chooses another)")
    return chosen, note


def instance_type_for(ctx: Context, use: str, asked: str | None, recorded: str | None, default: str, flag: str) -> str:
    """`use` is notebook, training or hosting; `flag` names the option that chooses it."""
    return choose(ctx.aws.region, use, asked, recorded, default, flag)[0]


def check_instance_type(ctx: Context, use: str, asked: str | None, recorded: str | None, default: str,
                        flag: str) -> None:
    """Before anything is created: refuse a type the region does not offer, and say when a default gives way."""
    _, note = choose(ctx.aws.region, use, asked, recorded, default, flag)
    if note:
        ui.warn(note)
