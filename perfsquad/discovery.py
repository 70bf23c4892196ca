"""Which files a run analyzes: the Python files under the paths given, minus the excluded ones.

Shared by the CLI's ``analyze_paths`` and the editor's workspace index (``perfsquad.workspace``),
so both see the same files; it sits below both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from perfsquad.config import Config, exclusion_matcher


def discover(paths: Iterable[Path], config: Config, *, notebooks: bool = True) -> Iterator[Path]:
    """Python files (and Jupyter notebooks, unless ``notebooks`` is false: the workspace index
    reads modules that can be imported) under ``paths``; files given explicitly are always
    included."""
    suffixes = (".py", ".pyi", ".ipynb") if notebooks else (".py", ".pyi")
    excluded = exclusion_matcher(config.exclude)
    for root in paths:
        if root.is_file():
            yield root
            continue
        prefix = len(str(root).rstrip(os.sep)) + 1
        stack = [str(root)]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            subdirs = []
            for entry in entries:
                if excluded(entry.name, entry.path[prefix:]):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
                elif entry.name.endswith(suffixes) and entry.is_file():
                    yield Path(entry.path)
            stack.extend(reversed(subdirs))
