"""Errors a user can act on."""


class MysfitsError(Exception):
    """A problem the user can fix: the CLI prints its message as one line and exits non-zero."""
