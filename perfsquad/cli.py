"""The command line: ``perfsquad check | explain | rules | serve`` plus the subcommands in
:mod:`perfsquad.commands` (one module each).

Exit codes (a contract): 0 nothing found, 1 findings remain, 2 perfsquad failed (bad usage,
unreadable or unparseable input, a file it could not write, a crash). A crash never shows a
traceback: :func:`main` prints one line and writes the traceback to a log file (:func:`_crash_log`).
Paths a walk skips (unreadable directories, symlink loops) are warnings and change no exit code.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from perfsquad import __version__
from perfsquad.config import Config, load_config
from perfsquad.docs import rule_doc_url
from perfsquad.files import WriteError
from perfsquad.model import FileReport, Finding, FixSafety, FunctionMetrics, NotebookCell, Position, Severity, Span

if TYPE_CHECKING:
    from perfsquad.calibration import Calibration

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


_CORE_COMMANDS = ("check", "explain", "rules", "serve")
_PYTHON_HELP = "the interpreter that runs the code, whose speedup table applies (default: the `python` setting, else this one)"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser. Given a core ``command`` (the one on the command line), the other
    subcommands' modules are not imported: ``check`` on a warm cache is mostly start-up time."""
    parser = argparse.ArgumentParser(
        prog="perfsquad",
        description="A Python performance auditor: idioms, complexity, I/O, vectorization, memory, profiling.",
    )
    parser.add_argument("--version", action="version", version=f"perfsquad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="analyze files and report findings")
    check.add_argument("paths", nargs="*", type=Path, default=[Path(".")], metavar="PATH")
    check.add_argument("--select", type=_codes, help="comma-separated codes or prefixes to enable")
    check.add_argument("--ignore", type=_codes, help="comma-separated codes or prefixes to disable")
    check.add_argument("--python", metavar="PATH|X.Y", help=_PYTHON_HELP)
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    check.add_argument("--confidence", choices=("high", "medium", "low"), default=None,
                       help="least confidence reported (default: medium, or the `confidence` setting; low shows all)")  # fmt: skip
    check.add_argument("--tests", choices=("hint", "normal", "off"), default=None,
                       help="findings in test files: hints one confidence level lower (default), as others, or none")  # fmt: skip
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes (with --fix/--diff)")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; change nothing")
    check.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: CPU count)")
    check.add_argument("--cache-dir", type=Path, default=None, help="cache location (default: .perfsquad/cache)")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    check.add_argument("--config", type=Path, default=None, help="pyproject.toml to read [tool.perfsquad] from")
    check.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary")
    check.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    check.add_argument("--complexity", action="store_true",
                       help="also report each function's estimated Big-O, cyclomatic complexity and maintainability index")  # fmt: skip
    check.add_argument("--profile", type=Path, default=None, metavar="PROFILE",
                       help="rank findings by measured time: a perfsquad profile JSON, speedscope JSON or pstats file")  # fmt: skip

    explain = sub.add_parser("explain", help="show a rule's documentation")
    explain.add_argument("code", help="rule code or name, e.g. IDM001")
    explain.add_argument("--python", metavar="PATH|X.Y", help=_PYTHON_HELP)

    rules = sub.add_parser("rules", help="list all rules")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules.add_argument("--python", metavar="PATH|X.Y", help=_PYTHON_HELP)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", default=None,
                       help="listen on a loopback address instead of stdio; clients must send the token "
                            "(PERFSQUAD_TOKEN, else generated and printed) as initializationOptions.token")  # fmt: skip
    serve.add_argument("--token-file", default=None, metavar="FILE",
                       help="with --tcp: also write the token to FILE, readable by you only (mode 0600)")

    if command not in _CORE_COMMANDS:
        from perfsquad.commands import register_all

        register_all(sub)
    return parser


class _NotRaised(BaseException):
    """Stands for ``procs.Terminated`` when no handler turns signals into it (core commands)."""


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((i for i, a in enumerate(args_list) if not a.startswith("-")), None)
    core = None
    if (
        first is not None
        and args_list[first] in _CORE_COMMANDS
        and "-h" not in args_list[:first]
        and "--help" not in args_list[:first]
    ):
        core = args_list[first]  # `perfsquad --help` still lists every command
    terminated: type[BaseException] = _NotRaised
    previous: dict[int, Any] = {}
    if core is None:  # (the commands that may run user code: SIGTERM/SIGHUP end them cleanly)
        from perfsquad.profiling import procs

        previous = procs.install_signal_handlers()
        terminated = procs.Terminated
    try:
        parser = build_parser(core)
        args = parser.parse_args(args_list)  # (bad usage: argparse's message and exit 2, a SystemExit)
        return _run(parser, args)
    except KeyboardInterrupt:
        print("perfsquad: interrupted", file=sys.stderr)
        return 130
    except terminated as exc:  # (its children are killed and its temporary directories removed by now)
        print(f"perfsquad: {exc}; stopped", file=sys.stderr)
        return int(getattr(exc, "exit_code", 143))
    except BrokenPipeError:
        return EXIT_CLEAN
    except WriteError as exc:  # (a file perfsquad had to write: the message names it and why)
        print(f"perfsquad: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # no traceback reaches the user: one line, the rest in a log file
        log = _crash_log()
        where = f"; details in {log}" if log is not None else ""
        print(f"perfsquad: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous:  # (main() called in-process, by a test or a script: its handlers come back)
            from perfsquad.profiling import procs

            procs.restore_signal_handlers(previous)


def _crash_log() -> Path | None:
    """Write the current exception's traceback to a new file and return it (None if no file can
    be made): under ``.perfsquad/logs/`` of the working directory when ``.perfsquad/`` is there
    (refusing symlinks, as every write of perfsquad's own files), else in the system's temporary
    directory. The name is unpredictable and the file created exclusively."""
    import tempfile
    import traceback

    from perfsquad.files import OWN_DIR, ensure_dir

    text = f"perfsquad {__version__}: {' '.join(sys.argv)}\n\n{traceback.format_exc()}"
    candidates = []
    if os.path.isdir(OWN_DIR):
        candidates.append(Path(OWN_DIR) / "logs")
    candidates.append(Path(tempfile.gettempdir()))
    for directory in candidates:
        try:
            ensure_dir(directory)
            fd, name = tempfile.mkstemp(prefix="perfsquad-crash-", suffix=".log", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return Path(name).absolute()
        except OSError:
            continue
    return None


SERVER_ALLOCATOR_MARK = "PERFSQUAD_SERVER_MALLOC"
"""Set (with ``PYTHONMALLOC=malloc``) when ``serve`` re-executes itself; see below."""


def _serve_with_system_allocator() -> None:
    """``serve`` on glibc runs on the C library's allocator (``PYTHONMALLOC=malloc``): it re-executes
    itself, same process id, arguments and descriptors, before it has read anything.

    Why (issue #19, measured with ``bench/soak.py``): a long-lived server analyzes hundreds of files.
    CPython's small-object allocator returns a 1 MiB arena to the system only when every object
    in it is freed, and the few objects that outlive a closed document (index summaries, caches)
    are spread over the arenas its syntax trees used: after 200 documents were opened and closed,
    79 arenas held 25 MB of live objects and 48 MB of free pools, and RSS stayed 58% above where
    it started. glibc's ``malloc_trim``, which the server calls after a close, returns free memory
    page by page: the same run ends within 16% of the start. The price, measured: analysis about
    8% slower and a larger peak on a huge file (399 MiB instead of 246 MiB for a 4 MB file).

    A ``PYTHONMALLOC`` the user set is kept, and so is the choice on other systems. The variable
    is taken out of the environment again after the re-execution: what the server runs (profiles,
    benchmarks) gets the user's environment, not ours."""
    if os.environ.pop(SERVER_ALLOCATOR_MARK, None) == "1":
        os.environ.pop("PYTHONMALLOC", None)  # (ours: the allocator is chosen at startup)
        return
    if os.environ.get("PYTHONMALLOC") or not sys.executable or not getattr(sys, "orig_argv", None):
        return
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):
        libc = ""
    if not libc.startswith("glibc"):
        return
    env = {**os.environ, "PYTHONMALLOC": "malloc", SERVER_ALLOCATOR_MARK: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    except OSError:
        return  # (then the server runs on CPython's allocator, as before)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The command asked for (its own expected errors are handled inside it; main catches the rest)."""
    if args.command == "check":
        return cmd_check(args)
    if args.command == "explain":
        return cmd_explain(args.code, args.python)
    if args.command == "rules":
        return cmd_rules(args.format, args.python)
    if args.command == "serve":
        _serve_with_system_allocator()
        from perfsquad.server import run_server

        return run_server(args.tcp, args.token_file)
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    parser.print_help()
    return EXIT_ERROR


# -- check ---------------------------------------------------------------------------------------
def _load_config(args: argparse.Namespace) -> tuple[Config, Path]:
    if args.config is not None:
        from perfsquad.config import read_pyproject

        config = read_pyproject(args.config)
        root = args.config.parent
    else:
        config, pyproject = load_config(args.paths[0] if args.paths else Path("."))
        root = pyproject.parent if pyproject else Path(".")
    return config.with_overrides(args.select, args.ignore, args.confidence, args.tests, args.python), root


class _Progress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 200:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def cmd_check(args: argparse.Namespace) -> int:
    from perfsquad.api import analyze_paths

    for path in args.paths:
        try:
            if path.is_dir():  # (a directory named but unreadable is an error; one found inside, a warning)
                os.scandir(path).close()
            else:
                path.stat()
        except OSError as exc:  # (missing, or under a directory it may not search)
            why = "no such file or directory" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
            print(f"perfsquad: error: {path}: {why}", file=sys.stderr)
            return EXIT_ERROR
    config, root = _load_config(args)
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    cache_dir = None if args.no_cache else (args.cache_dir or root / ".perfsquad" / "cache")
    progress = _Progress(sys.stderr) if sys.stderr.isatty() and not args.no_progress else None
    fixed_count = 0
    fix_failed = False
    warnings: list[str] = []
    try:
        if args.fix or args.diff:
            reports, fixed_count, fix_failed = _fix(args, config, cache_dir, progress, warnings)
        else:
            reports = analyze_paths(
                args.paths,
                config,
                jobs=args.jobs,
                cache_dir=cache_dir,
                want_fixes=args.format != "text",  # (JSON and SARIF carry the fixes)
                metrics=args.complexity,
                progress=progress,
                warnings=warnings,
            )
    finally:
        if progress:
            progress.close()
    for warning in warnings:  # (skipped paths, an unwritable cache: never a failure)
        print(f"perfsquad: warning: {warning}", file=sys.stderr)

    if args.profile is not None:
        try:
            reports = _weigh(reports, args.profile)
        except (OSError, ValueError) as exc:
            print(f"perfsquad: error: --profile {args.profile}: {exc}", file=sys.stderr)
            return EXIT_ERROR

    out = sys.stdout
    if args.format == "json":
        pairs = [(r, f) for r in reports for f in r.findings]
        if args.profile is not None:
            pairs.sort(key=lambda rf: -(rf[1].measured_share or 0.0))
        findings = [finding_json(r.path, f, r.cells) for r, f in pairs]
        if args.complexity:  # an object instead of the plain list: {"findings": [...], "files": [...]}
            files = [{"filename": r.path, "functions": [function_json(m, r.cells) for m in r.functions]} for r in reports]
            out.write(json.dumps({"findings": findings, "files": files}, indent=2))
        else:
            out.write(json.dumps(findings, indent=2))  # one write: json.dump writes token by token
        out.write("\n")
    elif args.format == "sarif":
        from perfsquad.sarif import sarif_log

        out.write(json.dumps(sarif_log(reports), indent=2))
        out.write("\n")
    else:
        fix_mode: Literal["fix", "diff"] | None = "diff" if args.diff else "fix" if args.fix else None
        _print_text(reports, out, quiet=args.quiet, fixed=fixed_count, fix_mode=fix_mode)
        calibration = config.calibration
        if not args.quiet and (config.python or calibration.table is None or calibration.table.version != calibration.target):
            out.write(f"Speedups {calibration.describe()}.\n")
        if args.complexity:
            _print_functions(reports, out)

    errors = [r for r in reports if r.error]
    for r in errors:
        where = f":{_text_position(r, r.error_span.start)}" if r.error_span else ""
        print(f"perfsquad: error: {r.path}{where}: {r.error}", file=sys.stderr)
    for r in reports:
        for problem in r.rule_errors:
            print(f"perfsquad: internal error in {r.path}: {problem}", file=sys.stderr)
    if errors or fix_failed:
        return EXIT_ERROR
    if args.diff and fixed_count:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if any(r.findings for r in reports) else EXIT_CLEAN


def _weigh(reports: list[FileReport], path: Path) -> list[FileReport]:
    """Findings weighed by the profile (severity follows the estimated saving, cold ones tagged); hottest first."""
    from perfsquad.profiling.formats import load_profile
    from perfsquad.profiling.weighting import weigh_reports

    weighed = weigh_reports(reports, load_profile(path))
    weighed.sort(key=lambda r: (-max((f.measured_share or 0.0 for f in r.findings), default=0.0), r.path))
    return weighed


def _fix(
    args: argparse.Namespace, config: Config, cache_dir: Path | None, progress: _Progress | None, warnings: list[str]
) -> tuple[list[FileReport], int, bool]:
    """``--fix`` writes the fixed files and returns what a plain ``check`` of them reports
    (``perfsquad.autofix`` analyzes the tree again); ``--diff`` prints the diffs, writes nothing,
    and returns the reports before fixing. The last value: some fixed file could not be written
    (each is said on stderr; the others are fixed)."""
    from perfsquad.autofix import fix_paths

    result = fix_paths(
        args.paths,
        config,
        unsafe=args.unsafe_fixes,
        write=not args.diff,
        jobs=args.jobs,
        cache_dir=cache_dir,
        metrics=args.complexity,
        progress=progress,
        warnings=warnings,
    )
    for reason in result.skipped:
        sys.stderr.write(f"perfsquad: {reason}\n")
    for reason in result.failed:
        sys.stderr.write(f"perfsquad: error: {reason}\n")
    if args.diff:
        for fixed in result.files:
            sys.stdout.writelines(
                difflib.unified_diff(
                    fixed.before.splitlines(keepends=True),
                    fixed.after.splitlines(keepends=True),
                    fromfile=f"a/{fixed.path}",
                    tofile=f"b/{fixed.path}",
                )
            )
    return result.reports, result.applied, bool(result.failed)


def _json_span(span: Span, cells: tuple[NotebookCell, ...]) -> dict[str, Any]:
    """``location``/``end_location`` of a span; in a notebook, within its cell plus ``cell``:
    ``{"index": <0-based in the notebook's cells list>, "id": <the cell's id or null>}``."""
    cell = None
    if cells:
        from perfsquad.notebook import span_in_cell

        located = span_in_cell(cells, span)
        if located is not None:
            cell, span = located
    data: dict[str, Any] = {
        "location": {"row": span.start.line, "column": span.start.column + 1},
        "end_location": {"row": span.end.line, "column": span.end.column + 1},
    }
    if cell is not None:
        data["cell"] = {"index": cell.index, "id": cell.id}
    return data


def finding_json(path: str, f: Finding, cells: tuple[NotebookCell, ...] = ()) -> dict[str, Any]:
    """One finding of ``check --format json``; ``cells``: the notebook's (positions within a cell)."""
    fix = None
    if f.fix is not None:
        fix = {
            "applicability": f.fix.safety.value,
            "message": f.fix.title,
            "edits": [{"content": e.content, **_json_span(e.span, cells)} for e in f.fix.edits],
        }
    speedup = None
    if f.speedup is not None:
        speedup = {
            "low": f.speedup.low,
            "high": f.speedup.high,
            "scales_with": f.speedup.scales_with,
            "measured_by": f.speedup.measured_by,
        }
    return {
        "code": f.code,
        "message": f.message,
        "filename": path,
        **_json_span(f.span, cells),
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "evidence": f.evidence,
        "fix": fix,
        "speedup": speedup,
        "notes": list(f.notes),
        "measured_share": f.measured_share,
        "url": rule_doc_url(f.code),
    }


def function_json(m: FunctionMetrics, cells: tuple[NotebookCell, ...] = ()) -> dict[str, Any]:
    """One function's metrics in ``check --complexity --format json`` (in a notebook, lines within
    the function's cell, and ``cell``)."""
    where = _json_span(m.span, cells)
    return {
        "name": m.name,
        "qualname": m.qualname,
        "line": where["location"]["row"],
        "end_line": where["end_location"]["row"],
        **({"cell": where["cell"]} if "cell" in where else {}),
        "complexity": m.complexity,
        "complexity_reason": m.complexity_reason,
        "cyclomatic": m.cyclomatic,
        "maintainability": m.maintainability,
        "loop_depth": m.loop_depth,
    }


def _print_functions(reports: list[FileReport], out: TextIO) -> None:
    for report in reports:
        for m in report.functions:
            mi = f"{m.maintainability:.0f}" if m.maintainability is not None else "-"
            why = f"  ({m.complexity_reason})" if m.complexity_reason else ""
            out.write(
                f"{report.path}:{_text_position(report, m.span.start).rsplit(':', 1)[0]}: {m.qualname} {m.complexity or '?'}"
                f" cyclomatic={m.cyclomatic} maintainability={mi} loop-depth={m.loop_depth}{why}\n"
            )


def _text_position(report: FileReport, pos: Position) -> str:
    """``line:col``; in a notebook ``cell N:line:col`` (N counts every cell from 1, markdown too,
    as they appear; line and column are within the cell)."""
    if report.cells:
        from perfsquad.notebook import in_cell

        located = in_cell(report.cells, pos)
        if located is not None:
            return f"cell {located[0].index + 1}:{located[1].line}:{located[1].column + 1}"
    return f"{pos.line}:{pos.column + 1}"


_COLORS = {"code": "\033[1;31m", "path": "\033[1m", "dim": "\033[2m", "fix": "\033[36m", "reset": "\033[0m"}


def _print_text(
    reports: list[FileReport], out: TextIO, *, quiet: bool, fixed: int, fix_mode: Literal["fix", "diff"] | None
) -> None:
    """``fix_mode``: ``--fix`` says what it fixed, ``--diff`` what it would fix (it writes nothing)."""
    color = out.isatty() and os.environ.get("NO_COLOR") is None

    def c(kind: str, text: str) -> str:
        return f"{_COLORS[kind]}{text}{_COLORS['reset']}" if color else text

    count = safe = unsafe = 0
    for report in reports:
        for f in report.findings:
            count += 1
            marker = ""
            if f.fix is not None and f.fix.safety is FixSafety.SAFE:
                safe += 1
                marker = " " + c("fix", "[*]")
            elif f.fix is not None and f.fix.safety is FixSafety.UNSAFE:
                unsafe += 1
                marker = " " + c("fix", "[unsafe fix]")
            level = "" if f.severity is Severity.WARNING else f" ({f.severity.value})"
            loc = f"{report.path}:{_text_position(report, f.span.start)}:"
            out.write(f"{c('path', loc)} {c('code', f.code)} {f.message}{level}{marker}\n")
            if f.evidence is not None and not quiet:
                out.write(c("dim", f"    evidence ({f.confidence.value} confidence): {f.evidence}") + "\n")
            if f.speedup is not None and not quiet:
                out.write(c("dim", f"    speedup: {f.speedup.describe()}") + "\n")
            for note in f.notes:
                out.write(c("dim", f"    note: {note}") + "\n")
    if quiet:
        return
    files = len(reports)
    if fix_mode and fixed:
        verb = "Fixed" if fix_mode == "fix" else "Would fix"
        out.write(f"{verb} {fixed} finding{'s' if fixed != 1 else ''}.\n")
    if count == 0:
        out.write(f"All checks passed ({files} file{'s' if files != 1 else ''}).\n")
        return
    out.write(f"Found {count} finding{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}.\n")
    if safe and not fix_mode:
        out.write(f"[*] {safe} fixable with `perfsquad check --fix`.\n")
    if unsafe and not fix_mode:
        out.write(f"{unsafe} more fixable with `--fix --unsafe-fixes` (review them: see `perfsquad explain CODE`).\n")


# -- explain / rules -------------------------------------------------------------------------------
def _calibration(python: str | None) -> Calibration:
    """The speedup table for ``--python``, else the ``python`` setting of ./pyproject.toml, else this Python."""
    return load_config(Path("."))[0].with_overrides(python=python).calibration


def cmd_explain(code: str, python: str | None = None) -> int:
    from perfsquad.analyzers import rule_by_code
    from perfsquad.docs import rule_markdown

    rule = rule_by_code(code)
    if rule is None:
        print(f"perfsquad: error: unknown rule {code!r}; see `perfsquad rules`", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.write(rule_markdown(rule, _calibration(python)))
    return EXIT_CLEAN


def cmd_rules(fmt: str, python: str | None = None) -> int:
    """Every rule with its group and its ratio at n=1,000 on the table of ``python``, naming the table."""
    from perfsquad.analyzers import RULES
    from perfsquad.calibration import GROUP_SIZE

    calibration = _calibration(python)
    if fmt == "json":
        data = [
            {
                "code": r.code,
                "name": r.name,
                "family": r.family().value,
                "message": r.message,
                "fix": r.fix_safety.value if r.fix_safety else None,
                "speedup": [s.low, s.high] if (s := calibration.speedup(r.code)) else None,
                "group": calibration.group(r.code),
                "ratio_at_1000": calibration.ratio(r.code),
                "calibration": calibration.describe(),
            }
            for r in RULES
        ]
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_CLEAN
    sys.stdout.write(
        f"Ratios (old time / new time) at n={GROUP_SIZE:,} {calibration.describe()}. Rules in the readability\n"
        "group are measured slower there or at a larger size (shown after the ratio): off unless selected by\n"
        "code or `readability`, info at most.\n"
    )
    for r in RULES:
        fix = r.fix_safety.value if r.fix_safety else "-"
        ratio = calibration.ratio(r.code)
        speed = f"{ratio:.2f}x" if ratio is not None else "not measured"
        group = calibration.group(r.code)
        speedup = calibration.speedup(r.code)
        if speedup is not None and ratio is not None and ratio >= 1.0:
            slower = [(n, x) for n, x in speedup.sizes if n > GROUP_SIZE and x < 1.0]
            if slower:
                speed += f" ({slower[0][1]:.2f}x at {slower[0][0]:,})"
        sys.stdout.write(f"{r.code:<6}  {r.name:<28} {group:<11}  n=1,000: {speed:<29} fix: {fix:<12} {r.message}\n")
    return EXIT_CLEAN
