"""Which instance type a part of the stack runs on: the one asked for, else the one it runs on, else the default."""

from __future__ import annotations

from .engine import Context


def instance_type_for(ctx: Context, use: str, asked: str | None, recorded: str | None, default: str, flag: str) -> str:
    """`use` is notebook, training or hosting; `flag` names the option that chooses it."""
    return asked or recorded or default
