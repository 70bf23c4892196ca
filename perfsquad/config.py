"""One typed configuration model, read from ``[tool.perfsquad]`` or LSP settings, failing softly.

A bad setting never stops analysis: it is dropped, a readable warning is recorded in
``Config.warnings``, and the default is used instead.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

from perfsquad import calibration
from perfsquad.model import Confidence, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
    "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".perfsquad", ".ipynb_checkpoints",
)  # fmt: skip
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
DEFAULT_TEST_PATHS = ("tests", "test", "testing", "test_*.py", "*_test.py", "conftest.py")
"""What counts as a test file: a path component matching one of these globs."""
TEST_TREATMENTS = ("hint", "normal", "off")
"""What happens to findings in test files: demoted to hints one confidence level lower (their
loops rarely run at scale), reported like any other, or not reported."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    severity: tuple[tuple[str, Severity], ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    confidence: Confidence = Confidence.MEDIUM
    """The least confidence reported (``low`` shows everything)."""
    tests: str = "hint"
    """One of :data:`TEST_TREATMENTS`."""
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    python: str | None = None
    """The interpreter that runs the code (a path or ``X.Y``; None: the running one): which
    speedup table applies, hence which rules are in the ``readability`` group (perfsquad.calibration)."""
    python_trusted: bool = True
    """Whether ``python`` came from the user (``--python``, the editor's settings) rather than a
    repository's ``pyproject.toml``: only then may perfsquad run that interpreter to ask its version
    (a cloned repository naming ``python = "./evil"`` must not get it executed by a plain ``check``)."""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def key(self) -> str:
        """A stable string for cache keys: everything that changes analysis results."""
        return repr(
            (self.select, self.ignore, self.per_file_ignores, self.severity, self.max_file_bytes,
             self.confidence.value, self.tests, self.test_paths, self.calibration.key)
        )  # fmt: skip

    @property
    def calibration(self) -> calibration.Calibration:
        """The speedup table of the configured (else the running) interpreter."""
        if self.python is None or self.python_trusted:
            return calibration.choose(self.python)  # (one cached Calibration per setting)
        return calibration.choose(self.python, probe=False)

    def is_test_file(self, path: str | None) -> bool:
        """Whether ``path`` is a test file (a component matches one of ``test_paths``)."""
        if path is None or not self.test_paths:
            return False
        return _is_test_path(path, self.test_paths)

    def code_enabled(self, code: str, path: str | None = None) -> bool:
        if not _selected(code, self.select, self.ignore, self.calibration.readability):
            return False
        if path is not None and self.per_file_ignores:
            pure = PurePath(path)
            for pattern, codes in self.per_file_ignores:
                if _path_matches(pure, pattern) and _matches(code, codes):
                    return False
        return True

    def severity_for(self, code: str, default: Severity) -> Severity:
        best: tuple[int, Severity] | None = None
        for prefix, sev in self.severity:
            if code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), sev)
        chosen = best[1] if best else default
        if chosen in (Severity.ERROR, Severity.WARNING) and code in self.calibration.readability:
            return Severity.INFO  # measured slower on this Python: never a performance warning
        return chosen

    def is_excluded(self, path: Path) -> bool:
        """Whether a path (relative to the root being walked) matches an `exclude` pattern."""
        return exclusion_matcher(self.exclude)(path.name, path.as_posix())

    def with_overrides(
        self,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        confidence: str | None = None,
        tests: str | None = None,
        python: str | None = None,
    ) -> Config:
        cfg = replace(self, python=python, python_trusted=True) if python else self
        if confidence:
            cfg = replace(cfg, confidence=Confidence(confidence))
        if tests:
            cfg = replace(cfg, tests=tests)
        if select:
            cfg = replace(cfg, select=tuple(select))
        if ignore:
            cfg = replace(cfg, ignore=(*cfg.ignore, *ignore))
        return cfg


@functools.lru_cache(maxsize=16)
def exclusion_matcher(patterns: tuple[str, ...]) -> Callable[[str, str], bool]:
    """A fast ``(name, relative_posix_path) -> excluded`` test for the given globs.

    Patterns without a ``/`` match any single path component (checked on each entry's name while
    walking, so a matching directory prunes its subtree); patterns with one match the relative path.
    """
    names = [fnmatch.translate(p.rstrip("/")) for p in patterns if "/" not in p.rstrip("/")]
    paths = [fnmatch.translate(p.rstrip("/")) for p in patterns if "/" in p.rstrip("/")]
    name_re = re.compile("|".join(names)) if names else None
    path_re = re.compile("|".join(paths)) if paths else None

    def excluded(name: str, relpath: str) -> bool:
        if name_re is not None and name_re.match(name):
            return True
        return path_re is not None and (path_re.match(relpath) is not None)

    return excluded


@functools.lru_cache(maxsize=4096)
def _selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...], readability: frozenset[str]) -> bool:
    """Selected and not ignored (asked for every rule of every file: memoized).

    A rule of the ``readability`` group (measured slower on the configured Python) is selected only
    by its exact code or the group's name, never by ``ALL`` or a prefix; ``performance`` selects
    every other rule. Either group name also works in ``ignore``."""
    group = "READABILITY" if code in readability else "PERFORMANCE"
    if code in readability:
        chosen = code in select or group in select
    else:
        chosen = _matches(code, select) or group in select
    return chosen and not _matches(code, ignore) and group not in ignore


def _matches(code: str, selectors: tuple[str, ...]) -> bool:
    return any(sel == "ALL" or code.startswith(sel) for sel in selectors)


@functools.lru_cache(maxsize=4096)
def _is_test_path(path: str, patterns: tuple[str, ...]) -> bool:
    """A pattern without ``/`` matches the file's name or one of its directories (below the
    working directory when the path is under it, so a checkout kept in ``~/tests/`` is not all
    tests); one with ``/`` matches the path's end (``PurePath.match``)."""
    pure = PurePath(path)
    if pure.is_absolute():
        with contextlib.suppress(ValueError):
            pure = pure.relative_to(Path.cwd())
    parts = pure.parts
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if pure.match(pattern):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def _path_matches(path: PurePath, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if any(fnmatch.fnmatch(part, pattern) for part in path.parts):
        return True
    return fnmatch.fnmatch(path.as_posix(), pattern) or fnmatch.fnmatch(path.as_posix(), f"*/{pattern}")


def _codes(value: Any, key: str, warnings: list[str]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        warnings.append(f"perfsquad: `{key}` must be a list of rule codes; ignored")
        return None
    return tuple(v.strip().upper() for v in value)


def config_from_mapping(data: Any, source: str = "settings", folder: Path | None = None) -> Config:
    """Build a Config from a ``[tool.perfsquad]`` table or LSP settings (same keys, either style).

    ``folder``: the folder a relative ``python`` path is relative to (the pyproject's)."""
    warnings: list[str] = []
    if not isinstance(data, dict):
        if data is not None:
            warnings.append(f"perfsquad: {source} must be a table; using defaults")
        return Config(warnings=tuple(warnings))
    cfg = Config()
    known = {
        "select",
        "ignore",
        "extend-select",
        "per-file-ignores",
        "exclude",
        "extend-exclude",
        "severity",
        "max-file-bytes",
        "python",
        "confidence",
        "tests",
        "test-paths",
        "extend-test-paths",
        "profile-command",
        "test-command",
    }  # fmt: skip  (profile-command, test-command: read by perfsquad.audit.pipeline)
    normalized = {str(k).replace("_", "-"): v for k, v in data.items()}
    warnings.extend(f"perfsquad: unknown setting `{k}` in {source}; ignored" for k in normalized if k not in known)
    if "select" in normalized and (codes := _codes(normalized["select"], "select", warnings)) is not None:
        cfg = replace(cfg, select=codes)
    if "extend-select" in normalized:
        codes = _codes(normalized["extend-select"], "extend-select", warnings)
        if codes is not None:
            cfg = replace(cfg, select=(*cfg.select, *codes))
    if "ignore" in normalized and (codes := _codes(normalized["ignore"], "ignore", warnings)) is not None:
        cfg = replace(cfg, ignore=codes)
    pfi = normalized.get("per-file-ignores")
    if pfi is not None:
        if isinstance(pfi, dict):
            parsed = ((str(p), _codes(v, f"per-file-ignores.{p}", warnings)) for p, v in pfi.items())
            cfg = replace(cfg, per_file_ignores=tuple((p, c) for p, c in parsed if c is not None))
        else:
            warnings.append("perfsquad: `per-file-ignores` must be a table of glob = [codes]; ignored")
    for key in ("exclude", "extend-exclude"):
        if key in normalized:
            value = normalized[key]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                kept = cfg.exclude if key == "extend-exclude" else ()
                cfg = replace(cfg, exclude=(*kept, *value))
            else:
                warnings.append(f"perfsquad: `{key}` must be a list of globs; ignored")
    sev = normalized.get("severity")
    if sev is not None:
        if isinstance(sev, dict):
            pairs_sev = []
            for code, level in sev.items():
                try:
                    pairs_sev.append((str(code).upper(), Severity(str(level).lower())))
                except ValueError:
                    warnings.append(f"perfsquad: severity for {code} must be error|warning|info|hint, not {level!r}")
            cfg = replace(cfg, severity=tuple(pairs_sev))
        else:
            warnings.append("perfsquad: `severity` must be a table of CODE = level; ignored")
    conf = normalized.get("confidence")
    if conf is not None:
        try:
            cfg = replace(cfg, confidence=Confidence(str(conf).lower()))
        except ValueError:
            warnings.append(f"perfsquad: `confidence` must be high|medium|low, not {conf!r}; using medium")
    tests = normalized.get("tests")
    if tests is not None:
        if str(tests).lower() in TEST_TREATMENTS:
            cfg = replace(cfg, tests=str(tests).lower())
        else:
            warnings.append(f"perfsquad: `tests` must be one of {'|'.join(TEST_TREATMENTS)}, not {tests!r}; using hint")
    for key in ("test-paths", "extend-test-paths"):
        if key in normalized:
            value = normalized[key]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                base = cfg.test_paths if key == "extend-test-paths" else ()
                cfg = replace(cfg, test_paths=(*base, *value))
            else:
                warnings.append(f"perfsquad: `{key}` must be a list of globs; ignored")
    mfb = normalized.get("max-file-bytes")
    if mfb is not None:
        if isinstance(mfb, int) and not isinstance(mfb, bool) and mfb > 0:
            cfg = replace(cfg, max_file_bytes=mfb)
        else:
            warnings.append("perfsquad: `max-file-bytes` must be a positive integer; ignored")
    python = normalized.get("python")
    if isinstance(python, str) and python.strip():
        cfg = replace(cfg, python=python_setting(python, folder), python_trusted=folder is None)
    elif python is not None:
        warnings.append("perfsquad: `python` must be an interpreter path or a version such as 3.12; ignored")
    return replace(cfg, warnings=tuple(warnings))


def python_setting(value: str, base: Path | None) -> str:
    """A ``python`` setting as given, but a relative interpreter path made absolute from ``base``."""
    value = value.strip()
    if re.fullmatch(r"\d+\.\d+(\.\d+)?", value) or base is None:
        return value
    path = Path(value).expanduser()
    return value if path.is_absolute() else str(base / path)


ROOT_MARKERS = (".git", ".hg", ".svn")
"""A directory holding one of these is a repository's root: configuration is never read above it."""


def project_root(start: Path) -> Path:
    """The directory whose ``pyproject.toml`` files may configure ``start`` (it and the directories
    between them): the nearest of ``start``'s folder and its parents that is a repository's root
    (:data:`ROOT_MARKERS`); else the working directory when ``start`` is inside it; else ``start``'s
    folder. A ``pyproject.toml`` above it (a parent directory outside the project, another user's
    ``/tmp/pyproject.toml``) is never read: its ``profile-command`` must not run, nor its ``python``
    be probed, for a project it does not belong to."""
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    for directory in (base, *base.parents):
        with contextlib.suppress(OSError):
            if any((directory / marker).exists() for marker in ROOT_MARKERS):
                return directory
    with contextlib.suppress(OSError):
        cwd = Path.cwd().resolve()
        if base == cwd or cwd in base.parents:
            return cwd
    return base


def find_pyproject(start: Path, root: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` up to ``root`` (default :func:`project_root`;
    the language server passes the workspace folder), never above it."""
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    top = root.resolve() if root is not None else project_root(start)
    chain = (base, *base.parents)
    if top not in chain:  # (``start`` outside ``root``: only its own folder)
        chain = (base,)
    for directory in chain:
        candidate = directory / "pyproject.toml"
        with contextlib.suppress(OSError):  # (a directory it may not search: look further up)
            if candidate.is_file():
                return candidate
        if directory == top:
            break
    return None


def load_config(start: Path, root: Path | None = None) -> tuple[Config, Path | None]:
    """The configuration that applies to ``start`` (a file or directory), and its pyproject (read
    from ``start`` up to ``root``, see :func:`find_pyproject`)."""
    pyproject = find_pyproject(start, root)
    if pyproject is None:
        return Config(), None
    return read_pyproject(pyproject), pyproject


def read_pyproject(pyproject: Path) -> Config:
    """The ``[tool.perfsquad]`` table of one pyproject.toml (defaults, with a warning, if unreadable)."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Config(warnings=(f"perfsquad: cannot read {pyproject}: {exc}; using defaults",))
    tool = data.get("tool")
    if tool is None:
        return Config()
    if not isinstance(tool, dict):  # (`tool = 1`: valid TOML, not a table)
        return Config(warnings=(f"perfsquad: `tool` in {pyproject} must be a table, not {tool!r}; using defaults",))
    table = tool.get("perfsquad")
    if table is None:
        return Config()
    return config_from_mapping(table, str(pyproject), pyproject.parent)
