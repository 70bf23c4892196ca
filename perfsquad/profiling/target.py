"""What to profile: a script, ``-m module``, a pytest node id, or a ``python ...`` command line.

Every spec becomes a :class:`Target`: the interpreter to use and what to run in it (``script`` or
``module`` mode), so the runner can start it under its wrapper. Anything else (a shell command, a
binary) is an *external* target the sampler launches itself.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_PYTHON_NAMES = ("python", "python3", "pypy", "pypy3")


@dataclass(frozen=True)
class Target:
    python: str | None
    """Interpreter for Python targets; None for an external command."""
    mode: str
    """``script``, ``module``, ``notebook`` (a ``.ipynb`` file: its code cells run as one script,
    see ``perfsquad.profiling.run``) or ``external``."""
    target: str
    args: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        if self.mode == "external":
            return shlex.join([self.target, *self.args])
        head = ["-m", self.target] if self.mode == "module" else [self.target]
        return shlex.join(["python", *head, *self.args])


class TargetError(ValueError):
    pass


def _is_python(word: str) -> bool:
    name = os.path.basename(word)
    return any(name == p or (name.startswith(p) and name[len(p) :].replace(".", "").isdigit()) for p in _PYTHON_NAMES)


def is_pytest_node(spec: str) -> bool:
    path = spec.split("::", 1)[0]
    return "::" in spec and path.endswith(".py")


_VERSION = re.compile(r"^\d+\.\d+$")


_HOST_DEFAULT: tuple[str, str] | None = None


def set_host_interpreter(python: str, why: str) -> None:
    """Make ``python`` the default for this process: the language server sets its own interpreter,
    since the editor started it with the interpreter the user chose for the workspace (``PATH``
    there is the editor's, not the project's)."""
    global _HOST_DEFAULT
    _HOST_DEFAULT = (python, why)


def user_interpreter(python: str | None = None) -> tuple[str, str]:
    """The interpreter that runs the user's code, and why: ``python`` (``--python`` or the
    ``python`` setting, when it names an interpreter rather than a version such as ``3.12``), else
    the host's (the language server's interpreter: :func:`set_host_interpreter`), else the active
    virtual environment's (``$VIRTUAL_ENV``), else ``python3``/``python`` on ``PATH``;
    perfsquad's own interpreter only when none of those exists. A ``python ...`` run command names
    its own and wins over all of these (:func:`command_for`)."""
    if python and not _VERSION.match(python.strip()):
        return python, "the python setting"
    if _HOST_DEFAULT is not None:
        return _HOST_DEFAULT
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        for name in ("bin/python", "Scripts/python.exe"):
            candidate = Path(venv) / name
            if candidate.exists():
                return str(candidate), "the active virtual environment"
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found, f"`{name}` on PATH"
    return sys.executable, "perfsquad's own interpreter (no other Python found)"


def command_for(spec: str | Sequence[str], python: str | None = None) -> Target:
    """Turn a user's spec into a Target.

    * ``tests/test_x.py::test_y`` (a pytest node id) -> ``python -m pytest -q <node>``;
    * ``script.py args`` -> the script;
    * ``-m pkg.mod args`` -> the module;
    * ``notebook.ipynb`` -> its code cells, run as one script;
    * ``python[3] ...`` -> the same, with that interpreter;
    * anything else -> an external command.

    Without ``python ...`` in the spec, the interpreter is :func:`user_interpreter`'s.
    """
    words = shlex.split(spec) if isinstance(spec, str) else list(spec)
    if not words:
        raise TargetError("nothing to profile: give a script, `-m module`, a pytest node id or a command")
    interpreter = user_interpreter(python)[0]
    if _is_python(words[0]):
        interpreter, words = words[0], words[1:]
        while words and words[0].startswith("-") and words[0] not in ("-m", "-c"):
            words = words[1:]  # interpreter flags such as -u, -X dev: not meaningful under the wrapper
        if not words:
            raise TargetError("`python` alone is interactive: give a script or `-m module`")
        if words[0] == "-c":
            raise TargetError("`python -c` cannot be profiled: put the code in a script")
    if words[0] == "-m":
        if len(words) < 2:
            raise TargetError("`-m` needs a module name")
        return Target(interpreter, "module", words[1], tuple(words[2:]))
    if is_pytest_node(words[0]) or (words[0].endswith(".py") and os.path.basename(words[0]).startswith("test_")
                                     and len(words) == 1 and _has_no_main(words[0])):  # fmt: skip
        return Target(interpreter, "module", "pytest", ("-q", "-p", "no:cacheprovider", *words))
    if words[0].endswith(".ipynb"):
        return Target(interpreter, "notebook", words[0], tuple(words[1:]))
    if os.path.basename(words[0]) == "jupyter" and shutil.which(words[0]) is None:
        raise TargetError(
            "`jupyter` is not installed here (not on PATH). Install it (`pip install nbconvert ipykernel`) to "
            "profile `jupyter nbconvert --execute ...`, or profile the notebook itself: "
            "`perfsquad profile NOTEBOOK.ipynb` runs its code cells as a script and gives each cell its time"
        )
    if words[0].endswith(".py") or _is_python_file(words[0]):
        return Target(interpreter, "script", words[0], tuple(words[1:]))
    return Target(None, "external", words[0], tuple(words[1:]))


def _has_no_main(path: str) -> bool:
    try:
        return "__main__" not in Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True


def _is_python_file(path: str) -> bool:
    """A file without a .py suffix whose shebang names Python."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first
