"""Collector tuning applied to a benchmarked run (stdlib only: it runs in the user's interpreter).

``perfsquad.audit.gcadvice`` puts this directory first on ``PYTHONPATH`` with
``PERFSQUAD_GCTUNE`` set to:

* ``freeze``: after each full (generation 2) collection, ``gc.freeze()`` moves what survived it to
  the permanent generation, so later collections stop re-examining long-lived data; this is what
  one ``gc.freeze()`` after start-up does when start-up builds that data;
* ``threshold:N``: ``gc.set_threshold(N)`` (fewer, larger young-generation collections).

Then the interpreter's own ``sitecustomize`` (if any) is imported, as it would have been.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys


def _freeze_after_full(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def _apply(spec: str) -> None:
    if spec == "freeze":
        gc.callbacks.append(_freeze_after_full)
    elif spec.startswith("threshold:"):
        gc.set_threshold(int(spec.split(":", 1)[1]))


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    me = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:  # the import that is running us returns sys.modules["sitecustomize"]
        sys.modules.setdefault("sitecustomize", me)  # type: ignore[arg-type]


_apply(os.environ.get("PERFSQUAD_GCTUNE", ""))
_chain()
