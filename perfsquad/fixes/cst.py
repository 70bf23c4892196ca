"""libcst, imported on first use.

Importing libcst costs about a third of a second (it builds hundreds of node classes); rules use it
only to build fixes, which are computed lazily, so analysis and CLI start-up should not pay for it.
``from perfsquad.fixes.cst import cst`` gives the libcst module to type checkers and a proxy that
imports it on first attribute access at run time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst
else:

    class _LazyModule:
        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> Any:
            module = importlib.import_module(self._name)
            return getattr(module, attr)

    cst = _LazyModule("libcst")

__all__ = ["cst"]
