"""Extra CLI subcommands, one module each (profile, leakcheck, audit, diagnose, compare, bench...).

A module here defines ``register(sub: argparse._SubParsersAction) -> None`` which adds its parser
and sets ``handler=<callable(args) -> int>`` with ``set_defaults``. Keep module-level imports light:
every module is imported when the CLI starts; import heavy things inside the handler.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any


def register_all(sub: argparse._SubParsersAction[Any]) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
