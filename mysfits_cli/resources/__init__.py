"""One module per kind of AWS resource. Importing a module registers its kinds with the engine."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Register every kind, so status and teardown can handle whatever a state file records."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
