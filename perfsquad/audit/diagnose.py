"""``quick-diagnose``: everything perfsquad knows about one function, in seconds.

* its findings (with their ROI estimate when a profile is given or taken);
* its complexity estimate (``FunctionMetrics.complexity``, from the algorithms analyzer; ``n/a``
  when none) and radon's metrics (cyclomatic complexity and rank, Halstead volume / difficulty /
  effort, source lines, maintainability index);
* when something exercises it — a test under ``tests/`` that names it, or the configured
  ``profile-command`` — a short sampled profile of that (with a small timeout): the function's
  share of the run and its hottest lines.

Static analysis never runs user code; only the exercising test/command is run, in a subprocess
with a timeout, and only when asked to (``profile=True``).
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsquad.audit.roadmap import RoadmapItem, build_roadmap
from perfsquad.audit.shares import ShareIndex
from perfsquad.config import Config, find_pyproject, load_config
from perfsquad.model import FileReport, FunctionMetrics
from perfsquad.profiling.model import Profile
from perfsquad.syntax import walk

DEFAULT_PROFILE_TIMEOUT = 20.0
FAST_PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
MAX_TEST_FILES = 400
Progress = Callable[[str], None]


class DiagnoseError(ValueError):
    """The function could not be found or the file not read (the message says why)."""


@dataclass(frozen=True)
class Exerciser:
    kind: str
    """``test`` (a pytest node id found under tests/) or ``command`` (the configured profile-command)."""
    spec: str


@dataclass(frozen=True)
class Diagnosis:
    path: str
    function: FunctionMetrics
    findings: tuple[RoadmapItem, ...]
    radon: dict[str, Any]
    exerciser: Exerciser | None = None
    profile: Profile | None = None
    share: float | None = None
    seconds: float | None = None
    hot_lines: tuple[tuple[int, float], ...] = ()
    """(line, share of the run) for the function's hottest lines."""
    profile_error: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def complexity(self) -> str:
        return self.function.complexity or "n/a"

    def to_json(self) -> dict[str, Any]:
        fn = self.function
        return {
            "file": self.path,
            "function": fn.qualname,
            "line": fn.span.start.line,
            "end_line": fn.span.end.line,
            "complexity": self.complexity,
            "complexity_reason": fn.complexity_reason,
            "cyclomatic": fn.cyclomatic,
            "loop_depth": fn.loop_depth,
            "radon": self.radon,
            "findings": [item.to_json() for item in self.findings],
            "exercised_by": None if self.exerciser is None else {"kind": self.exerciser.kind, "spec": self.exerciser.spec},
            "profile": None
            if self.profile is None
            else {
                "sampler": self.profile.sampler,
                "wall_seconds": self.profile.wall_seconds,
                "share": self.share,
                "seconds": self.seconds,
                "hot_lines": [{"line": line, "share": share} for line, share in self.hot_lines],
            },
            "profile_error": self.profile_error,
            "notes": list(self.notes),
        }

    def format(self) -> str:
        fn = self.function
        out = [f"{self.path}:{fn.span.start.line}: {fn.qualname} (lines {fn.span.start.line}-{fn.span.end.line})"]
        reason = f" ({fn.complexity_reason})" if fn.complexity_reason else ""
        out.append(f"  complexity: {self.complexity}{reason}; loop depth {fn.loop_depth}")
        r = self.radon
        if r.get("error"):
            out.append(f"  radon: {r['error']}")
        else:
            out.append(
                f"  radon: cyclomatic {r['cyclomatic']} (rank {r['rank']}), Halstead volume {r['halstead_volume']:.0f}, "
                f"difficulty {r['halstead_difficulty']:.1f}, effort {r['halstead_effort']:.0f}; {r['sloc']} source lines; "
                f"maintainability {r['maintainability']:.0f}"
            )
        if self.findings:
            out.append(f"  findings ({len(self.findings)}):")
            for item in self.findings:
                out.append(f"    {item.line}:{item.finding.span.start.column + 1} {item.finding.code} {item.finding.message}")
                out.append(f"      {item.estimate.describe()}; fix: {item.estimate.safety}")
        else:
            out.append("  findings: none")
        if self.exerciser is None:
            out.append("  profile: nothing found that exercises it (no test under tests/ names it, no profile-command)")
        elif self.profile_error:
            out.append(f"  profile of {self.exerciser.spec}: failed: {self.profile_error}")
        elif self.profile is not None:
            out.append(
                f"  profile of {self.exerciser.spec} ({self.profile.sampler}, {self.profile.wall_seconds:.2f} s): "
                f"{(self.share or 0.0):.1%} of the run in this function ({(self.seconds or 0.0):.3f} s)"
            )
            out.extend(f"    line {line}: {share:.1%}" for line, share in self.hot_lines)
        else:
            out.append(f"  exercised by: {self.exerciser.spec} (not profiled)")
        out.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(out)


def find_function(report: FileReport, name: str | None = None, line: int | None = None) -> FunctionMetrics:
    """A function by qualified name, plain name (first match) or a line inside it (innermost)."""
    functions = report.functions
    if name:
        exact = [f for f in functions if f.qualname == name] or [f for f in functions if f.name == name]
        if not exact:
            known = ", ".join(sorted({f.qualname for f in functions})[:20]) or "none"
            raise DiagnoseError(f"no function {name!r} in {report.path} (functions: {known})")
        return exact[0]
    if line is not None:
        around = [f for f in functions if f.span.start.line <= line <= f.span.end.line]
        if not around:
            raise DiagnoseError(f"line {line} of {report.path} is not inside a function")
        return max(around, key=lambda f: f.span.start.line)
    raise DiagnoseError("give a function name or a line")


def radon_metrics(source: str, fn: FunctionMetrics) -> dict[str, Any]:
    """radon's view of the function's own source (never raises: an ``error`` key says why)."""
    lines = source.splitlines()
    first = fn.span.start.line
    # Include decorators: they belong to the definition radon parses.
    code = textwrap.dedent("\n".join(lines[first - 1 : fn.span.end.line])) + "\n"
    try:
        from radon.complexity import cc_rank, cc_visit
        from radon.metrics import h_visit, mi_visit
        from radon.raw import analyze

        blocks = [b for b in cc_visit(code) if getattr(b, "name", None) == fn.name] or list(cc_visit(code))
        cyclomatic = int(blocks[0].complexity) if blocks else fn.cyclomatic
        halstead = h_visit(code).total
        raw = analyze(code)
        return {
            "cyclomatic": cyclomatic,
            "rank": str(cc_rank(cyclomatic)),
            "halstead_volume": float(halstead.volume),
            "halstead_difficulty": float(halstead.difficulty),
            "halstead_effort": float(halstead.effort),
            "sloc": int(raw.sloc),
            "maintainability": float(mi_visit(code, True)),
        }
    except (SyntaxError, ValueError, RecursionError, MemoryError, ImportError, IndexError, AttributeError) as exc:
        return {"error": f"radon could not measure it: {type(exc).__name__}: {exc}"}


def search_dirs(path: Path, root: Path) -> list[Path]:
    """``tests/`` directories from the file's own folder up to ``root``, nearest first."""
    found: list[Path] = []
    here = path.resolve().parent
    root = root.resolve()
    for directory in (here, *here.parents):
        if (directory / "tests").is_dir():
            found.append(directory / "tests")
        if directory == root:
            break
    if not found and (root / "tests").is_dir():
        found.append(root / "tests")
    return found


def _test_files(tests: Path) -> Iterator[Path]:
    count = 0
    for dirpath, dirnames, filenames in os.walk(tests):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                count += 1
                if count > MAX_TEST_FILES:
                    return
                yield Path(dirpath) / name


def find_exercising_test(root: Path, function: str, tests: list[Path] | None = None) -> str | None:
    """The first test (``path::test`` / ``path::Class::test``, relative to ``root``) that names
    ``function``, searched in ``tests`` (default: ``root/tests``)."""
    word = re.compile(rf"\b{re.escape(function)}\b")
    dirs = tests if tests is not None else [root / "tests"]
    for path in (p for d in dirs if d.is_dir() for p in _test_files(d)):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not word.search(text):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        try:
            rel = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = str(path.resolve())
        candidates: list[tuple[str, ast.AST]] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                candidates.append((f"{rel}::{node.name}", node))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                candidates.extend(
                    (f"{rel}::{node.name}::{item.name}", item)
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test")
                )
        for node_id, test_node in candidates:
            if any(isinstance(n, ast.Name | ast.Attribute) and (getattr(n, "id", None) == function
                   or getattr(n, "attr", None) == function) for n in walk(test_node)):  # fmt: skip
                return node_id
    return None


def diagnose(
    path: Path,
    *,
    function: str | None = None,
    line: int | None = None,
    source: str | None = None,
    config: Config | None = None,
    root: Path | None = None,
    profile: bool = True,
    given_profile: Profile | None = None,
    run: str | None = None,
    sampler: str = "auto",
    timeout: float = DEFAULT_PROFILE_TIMEOUT,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    run_cwd: Path | None = None,
    python: str | None = None,
) -> Diagnosis:
    """Diagnose one function of ``path`` (``source`` overrides the file's text, e.g. an editor buffer)."""
    from perfsquad.api import analyze_source

    say: Progress = progress or (lambda _msg: None)
    if source is None:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DiagnoseError(f"cannot read {path}: {exc}") from None
    if config is None:
        config, pyproject = load_config(path, root)  # (never a pyproject above the workspace)
        root = root or (pyproject.parent if pyproject else None)
    root = (root or path.resolve().parent).resolve()
    report = analyze_source(source, str(path), config, metrics=True)
    fn = find_function(report, function, line)
    notes: list[str] = []

    exerciser: Exerciser | None = None
    run_dir = root  # tests (ids relative to the root) and a configured command run in the root
    test = find_exercising_test(root, fn.name, search_dirs(path, root))
    if test is not None:
        exerciser = Exerciser("test", test)
    else:
        from perfsquad.audit.pipeline import configured_command

        command = run or configured_command(root)
        if run:
            run_dir = run_cwd or root
        if command:
            exerciser = Exerciser("command", command)

    prof = given_profile
    if prof is not None:  # a saved profile: say what it measured, run nothing
        exerciser = Exerciser("command", " ".join(prof.command) or "a saved profile")
    profile_error: str | None = None
    if prof is None and profile and exerciser is not None:
        from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command
        from perfsquad.profiling.target import TargetError

        say(f"profiling {exerciser.spec}")
        # Loading every installed pytest plugin can cost seconds: try the test without them first and
        # keep that profile only if the test passed; otherwise run it the normal way.
        attempts = [FAST_PYTEST_ENV, None] if exerciser.kind == "test" else [None]
        started = time.monotonic()
        for env in attempts:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 1.0:
                break
            try:
                prof = profile_command(exerciser.spec, sampler=sampler, cwd=run_dir, timeout=remaining, cancel=cancel,
                                       on_progress=say, env=env, python=python or config.python)  # fmt: skip
                profile_error = None
            except ProfileCancelled:
                raise
            except (ProfilerError, TargetError) as exc:
                prof, profile_error = None, str(exc)
            if prof is not None and prof.exit_code in (0, None):
                break
        if prof is not None and prof.exit_code not in (0, None):
            notes.append(f"{exerciser.spec} exited with code {prof.exit_code}; its profile may be partial")

    lo, hi = fn.span.start.line, fn.span.end.line
    in_function = FileReport(report.path, tuple(f for f in report.findings if lo <= f.span.start.line <= hi),
                             (fn,), report.error)  # fmt: skip
    items = tuple(build_roadmap([in_function], prof))
    share = seconds = None
    hot: list[tuple[int, float]] = []
    if prof is not None:
        index = ShareIndex(prof)
        seconds = index.seconds_in(str(path), lo, hi, fn.name)
        share = seconds / index.total if index.total > 0 else 0.0
        if index.total > 0 and index.line_level:
            per_line = [(ln, index.seconds_in(str(path), ln, ln, fn.name) / index.total) for ln in range(lo + 1, hi + 1)]
            hot = sorted((x for x in per_line if x[1] > 0), key=lambda x: -x[1])[:5]
        if share == 0.0 and exerciser is not None:
            notes.append(f"{exerciser.spec} ran, but no sample landed in {fn.qualname} (too fast to measure)")
    return Diagnosis(
        path=str(path),
        function=fn,
        findings=items,
        radon=radon_metrics(source, fn),
        exerciser=exerciser,
        profile=prof,
        share=share,
        seconds=seconds,
        hot_lines=tuple(hot),
        profile_error=profile_error,
        notes=tuple(notes),
    )


def workspace_root_for(path: Path) -> Path:
    pyproject = find_pyproject(path)
    return pyproject.parent if pyproject else path.resolve().parent
