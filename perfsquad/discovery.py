"""Which files a run analyzes: the Python files under the paths given, minus the excluded ones.

Shared by the CLI's ``analyze_paths`` and the editor's workspace index (``perfsquad.workspace``),
so both see the same files; it sits below both.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from perfsquad.config import Config, exclusion_matcher


def discover(
    paths: Iterable[Path], config: Config, on_skip: Callable[[str], None] | None = None, *, notebooks: bool = True
) -> Iterator[Path]:
    """Python files (and Jupyter notebooks, unless ``notebooks`` is false: the workspace index
    reads modules that can be imported) under ``paths``; files given explicitly are always included.

    The walk never raises: a directory it cannot list (permissions, removed meanwhile) and an
    entry it cannot follow (a symlink loop) are skipped, each told to ``on_skip`` as one line.
    Directory symlinks are not followed (a link to ``..`` would make the walk endless); a dangling
    link is skipped silently, as a file removed before the walk reached it."""
    suffixes = (".py", ".pyi", ".ipynb") if notebooks else (".py", ".pyi")
    excluded = exclusion_matcher(config.exclude)
    skip = on_skip or (lambda message: None)
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
            except FileNotFoundError:
                continue  # (removed while walking: nothing to check)
            except OSError as exc:
                skip(f"{directory}: skipped, cannot list it: {exc.strerror or exc}")
                continue
            subdirs = []
            for entry in entries:
                if excluded(entry.name, entry.path[prefix:]):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.path)
                    elif entry.name.endswith(suffixes) and entry.is_file():
                        yield Path(entry.path)
                except OSError as exc:
                    why = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
                    skip(f"{entry.path}: skipped, {why}")
            stack.extend(reversed(subdirs))
