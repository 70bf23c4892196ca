"""memoria: a tiny pure-Python "agent memory" library.

It stores short text memories in SQLite, normalises and indexes their text,
computes toy embeddings and groups similar memories together.  It is the
bundled demo project for perfsquad and deliberately contains performance
problems (see ``demo/README.md``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "agent", "cache", "io_wait", "similarity", "store", "text"]
