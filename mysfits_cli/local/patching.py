"""Replacing moto's methods in place, and putting them back.

Every part of the local cloud that changes moto's behaviour (the SageMaker emulation,
the strict rules, the latency model) keeps its replacements in one `Patches` set and
installs through it, so installing twice does nothing the second time and uninstalling
leaves nothing behind. Sets must be uninstalled in the reverse order of installation:
a set refuses to remove a replacement that something else has since wrapped.
"""

from __future__ import annotations

import functools
from typing import Any, Callable


class Patches:
    """One named set of replacements of attributes of moto's classes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._originals: list[tuple[type, str, Any, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._originals)

    def install(self, *installers: Callable[[], None]) -> None:
        """Run the installers, unless this set is installed already."""
        if self.installed:
            return
        try:
            for installer in installers:
                installer()
        except Exception:
            self.restore()
            raise

    def replace(self, owner: type, name: str, build: Callable[[Any], Any]) -> None:
        """Set `owner.name` to `build(current)` (a method that may wrap what is there)."""
        current = owner.__dict__.get(name)
        replacement = build(getattr(owner, name, None))
        setattr(replacement, f"_mysfits_{self.name}", True)  # says who replaced it, when debugging
        self._originals.append((owner, name, current, replacement))
        setattr(owner, name, replacement)

    def wrap(self, owner: type, name: str, wrapper: Callable[..., Any]) -> None:
        """Replace a method by `wrapper(original, self, *args, **kwargs)`."""

        def build(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def wrapped(this: Any, *args: Any, **kwargs: Any) -> Any:
                return wrapper(original, this, *args, **kwargs)

            return wrapped

        self.replace(owner, name, build)

    def restore(self) -> None:
        """Put back what this set replaced, most recent first."""
        while self._originals:
            owner, name, original, replacement = self._originals[-1]
            if owner.__dict__.get(name) is not replacement:
                raise RuntimeError(
                    f"{owner.__name__}.{name} was replaced again after the {self.name} patches: "
                    "uninstall in reverse order"
                )
            self._originals.pop()
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
