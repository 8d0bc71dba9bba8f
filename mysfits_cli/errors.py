"""Errors a user can act on."""

from __future__ import annotations


class MysfitsError(Exception):
    """A problem the user can fix: the CLI prints its message as one line and exits non-zero."""

    exit_code = 1


class OptionError(MysfitsError):
    """A problem caused by the value of an option (given, or kept from the stack's last run): running the same
    command again meets it again. `options` names the flags that change it."""

    def __init__(self, message: str, options: tuple[str, ...]):
        super().__init__(message)
        self.options = options


class UsageError(MysfitsError):
    """The command line itself is wrong (an option in the wrong place, a value of the wrong kind)."""

    exit_code = 2
