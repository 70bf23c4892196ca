"""Make the ``memoria`` package (and ``run.py``) importable from ``demo/``."""

from __future__ import annotations

import sys
from pathlib import Path

_DEMO_DIR = str(Path(__file__).resolve().parents[1])
if _DEMO_DIR not in sys.path:
    sys.path.insert(0, _DEMO_DIR)
