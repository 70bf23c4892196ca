#!/usr/bin/env python3
"""Precision benchmark: perfsquad's findings on real projects, scored against hand labels.

Stdlib only (plus this checkout's ``perfsquad.discovery.discover`` to count the lines it reads). Run:

    python3 bench/precision.py                          # Markdown report on every project
    python3 bench/precision.py --projects httpx,rich    # a subset
    python3 bench/precision.py --json OUT.json          # also the machine-readable results
    python3 bench/precision.py --check [--max-fp 0.10] [--max-rule-fp 0.20]
                                                        # gate: exit 1 if a labelled TP vanished or
                                                        # was hidden, FP / labelled > max-fp overall,
                                                        # or > max-rule-fp for a rule
    python3 bench/precision.py --sample 300 --seed 1 --out bench/precision/to_label.jsonl \\
        [--split ALG+VEC,IO+MEM,IDM]                    # stratified sample of unlabelled findings,
                                                        # split by families or rules for labellers

Each project is a pinned wheel from ``corpus.py`` (fetched once into the git-ignored
``bench/.corpus``). perfsquad runs at its DEFAULT settings, as a user would run it:
``python -m perfsquad check --format json --no-cache <package>`` from the unpacked wheel, with
``--config`` naming an empty pyproject.toml so no ``[tool.perfsquad]`` table above the corpus
(this repository's, one day) can change what is reported. It runs once with ``--confidence low``
and scores the findings whose confidence is ``high`` or ``medium``: exactly what the default
(``confidence = "medium"``) reports, since the setting only filters (``engine.postprocess``). The
``low`` ones are tabled apart as "hidden at default settings", so a true positive that a change
hides shows (it is counted as lost, like one no longer found).

Labels live in ``bench/precision/labels.jsonl``, one JSON object a line with ``project``, ``file``
(relative to the unpacked wheel, e.g. ``django/db/models/query.py``), ``line``, ``rule``,
``verdict`` (TP | debatable | FP), ``kind``, ``reason`` and ``snippet`` (the stripped source line);
see ``bench/precision/GUIDE.md``. A label matches a finding on (project, file, rule, line), or
else on (project, file, rule, snippet) within 20 lines, so labels survive small line shifts.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from corpus import CORPORA, SetupError, prepare_corpus

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LABELS = BENCH / "precision" / "labels.jsonl"
# One or two projects of each kind; every name is a key of corpus.CORPORA.
PROJECTS: dict[str, str] = {
    "django": "web / ORM",
    "sqlalchemy": "database toolkit / ORM",
    "httpx": "async HTTP client",
    "requests": "HTTP client",
    "rich": "terminal rendering",
    "click": "CLI framework",
    "scikit-learn": "numeric / machine learning",
    "sympy": "symbolic maths",
    "pandas": "data frames",
    "smolagents": "LLM agents (small, pure Python)",
}
VERDICTS = ("TP", "debatable", "FP")
FP_KINDS = ("misread", "slower-advice", "no-growth", "other")
SHIFT = 20  # how far (lines) a label may drift and still match on its snippet
CONTEXT = 8  # lines of context either side in the sample
MIN_PER_RULE = 5  # the sample's floor for every rule that fires
KNOWN_FIELDS = {"code", "filename", "location", "end_location", "message", "url"}


@dataclass
class Finding:
    project: str
    file: str  # relative to the project root (the unpacked wheel), posix
    line: int
    column: int
    rule: str
    message: str
    in_test: bool
    snippet: str
    extra: dict[str, Any] = field(default_factory=dict)  # every other JSON field: severity, speedup, confidence...
    label: dict[str, Any] | None = None

    @property
    def family(self) -> str:
        return rule_family(self.rule)

    @property
    def shown(self) -> bool:
        """Reported at default settings (confidence high or medium; absent: an older perfsquad)."""
        return str(self.extra.get("confidence", "medium")) != "low"


@dataclass
class ProjectRun:
    name: str
    kind: str
    dist: str = ""
    version: str = ""
    root: str = ""  # the unpacked wheel, relative to the repository
    files: int = 0
    lines: int = 0
    wall_s: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def rule_family(rule: str) -> str:
    """``ALG002`` -> ``ALG``: the letters before the number."""
    match = re.match(r"[A-Za-z]+", rule)
    return match.group(0) if match else rule


def is_test_file(rel: str) -> bool:
    """A file of a test suite: under a ``tests``/``test`` directory, or named like a pytest file."""
    path = PurePosixPath(rel)
    name = path.name
    if any(part in ("tests", "test") for part in path.parts[:-1]):
        return True
    return name == "conftest.py" or (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py")


# -- running perfsquad --------------------------------------------------------------------------


def count_lines(package: Path) -> tuple[int, int]:
    """(files, physical lines) of what perfsquad reads under ``package`` at default settings."""
    sys.path.insert(0, str(REPO))
    try:
        from perfsquad.config import Config
        from perfsquad.discovery import discover

        paths = list(discover([package], Config()))
    finally:
        sys.path.remove(str(REPO))
    return len(paths), sum(len(p.read_bytes().splitlines()) for p in paths)


def run_project(name: str, perfsquad: Sequence[str], env: dict[str, str] | None, config: Path) -> ProjectRun:
    """Fetch (if needed) and check one project; failures are recorded in ``error``, never raised."""
    run = ProjectRun(name, PROJECTS.get(name, "?"))
    if name not in CORPORA:
        run.error = f"unknown project (not in corpus.CORPORA: {', '.join(sorted(CORPORA))})"
        return run
    run.dist, run.version, _ = CORPORA[name]
    try:
        package = prepare_corpus(name)
    except (SetupError, OSError, zipfile.BadZipFile) as exc:
        run.error = f"setup failed: {exc}"
        return run
    root = package.parent
    run.root = os.path.relpath(root, REPO)
    run.files, run.lines = count_lines(package)
    # Relative target from the wheel's root: filenames come back relative to the project root.
    cmd = [*perfsquad, "check", "--format", "json", "--no-cache", "--confidence", "low", "--config", str(config)]
    cmd.append(package.name)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as exc:
        run.error = f"cannot start {cmd[0]}: {exc}"
        return run
    run.wall_s = time.perf_counter() - start
    try:
        raw = json.loads(proc.stdout)  # exit 1 means "findings"; `python -m` also exits 1 if perfsquad is missing
    except ValueError:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        run.error = f"exit {proc.returncode} and stdout is not JSON: {tail}"
        return run
    if not isinstance(raw, list):
        run.error = f"exit {proc.returncode}: expected a JSON list of findings"
        return run
    lines_of: dict[str, list[str]] = {}
    for item in raw:
        filename = Path(item["filename"])
        rel = (os.path.relpath(filename, root) if filename.is_absolute() else str(filename)).replace(os.sep, "/")
        if rel not in lines_of:
            lines_of[rel] = read_lines(root / rel)
        row = int(item["location"]["row"])
        source = lines_of[rel]
        snippet = source[row - 1].strip() if 0 < row <= len(source) else ""
        extra = {k: v for k, v in item.items() if k not in KNOWN_FIELDS}
        column = int(item["location"].get("column", 0))
        rule = str(item["code"])
        run.findings.append(
            Finding(name, rel, row, column, rule, str(item["message"]), is_test_file(rel), snippet, extra)
        )
    run.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))
    return run


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


# -- labels -------------------------------------------------------------------------------------


def load_labels(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The filled-in labels (rows without a verdict are skipped) and a message per malformed row."""
    labels: list[dict[str, Any]] = []
    problems: list[str] = []
    if not path.exists():
        return labels, problems
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError as exc:
            problems.append(f"{path.name}:{number}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{number}: not a JSON object")
            continue
        if row.get("verdict") in (None, ""):
            continue  # a sample row not labelled yet
        missing = [k for k in ("project", "file", "line", "rule") if not row.get(k)]
        if missing:
            problems.append(f"{path.name}:{number}: missing {', '.join(missing)}")
        elif row["verdict"] not in VERDICTS:
            problems.append(f"{path.name}:{number}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
        elif row["verdict"] == "FP" and row.get("kind") not in FP_KINDS:
            problems.append(f"{path.name}:{number}: an FP needs kind in {', '.join(FP_KINDS)}, not {row.get('kind')!r}")
        else:
            labels.append(row)
    return labels, problems


def match_labels(findings: Sequence[Finding], labels: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach each label to one finding (``finding.label``); return the labels that matched none.

    First on (project, file, rule, line), then on (project, file, rule, snippet) with the nearest
    line within ``SHIFT``. One label per finding and one finding per label.
    """
    groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        f.label = None
        groups[(f.project, f.file, f.rule)].append(f)
    pending: list[dict[str, Any]] = []
    for label in labels:
        group = groups.get((label["project"], label["file"], label["rule"]), [])
        exact = next((f for f in group if f.label is None and f.line == int(label["line"])), None)
        if exact is not None:
            exact.label = label
        else:
            pending.append(label)
    unmatched: list[dict[str, Any]] = []
    for label in pending:
        group = groups.get((label["project"], label["file"], label["rule"]), [])
        snippet = str(label.get("snippet") or "").strip()
        near = [
            f for f in group
            if f.label is None and snippet and f.snippet == snippet and abs(f.line - int(label["line"])) <= SHIFT
        ]  # fmt: skip
        if near:
            min(near, key=lambda f: abs(f.line - int(label["line"]))).label = label
        else:
            unmatched.append(label)
    return unmatched


# -- scoring ------------------------------------------------------------------------------------


def tally(findings: Iterable[Finding]) -> dict[str, Any]:
    """findings, labelled, TP / debatable / FP, precision and FP rate of a group of findings."""
    counts: Counter[str] = Counter()
    total = 0
    for f in findings:
        total += 1
        if f.label is not None:
            counts[str(f.label["verdict"])] += 1
    labelled = sum(counts[v] for v in VERDICTS)
    return {
        "findings": total,
        "labelled": labelled,
        **{v: counts[v] for v in VERDICTS},
        "precision": counts["TP"] / labelled if labelled else None,
        "fp_rate": counts["FP"] / labelled if labelled else None,
    }


def score(runs: Sequence[ProjectRun], unmatched: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The scores of what default settings report; the hidden (low-confidence) findings apart."""
    everything = [f for r in runs for f in r.findings]
    hidden = [f for f in everything if not f.shown]
    hidden_by_family: dict[str, list[Finding]] = defaultdict(list)
    for f in hidden:
        hidden_by_family[f.family].append(f)
    runs = [replace(r, findings=[f for f in r.findings if f.shown]) for r in runs]
    findings = [f for r in runs for f in r.findings]
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    by_family: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_rule[f.rule].append(f)
        by_family[f.family].append(f)
    lines = sum(r.lines for r in runs if r.error is None)
    projects = []
    for r in runs:
        tests = sum(f.in_test for f in r.findings)
        projects.append({
            "project": r.name, "kind": r.kind, "version": r.version, "root": r.root, "error": r.error,
            "files": r.files, "lines": r.lines, "wall_s": round(r.wall_s, 2), "findings": len(r.findings),
            "per_kloc": 1000 * len(r.findings) / r.lines if r.lines else None,
            "in_tests": tests, **{k: v for k, v in tally(r.findings).items() if k != "findings"},
        })  # fmt: skip
    return {
        "overall": tally(findings),
        "rules": {rule: tally(by_rule[rule]) for rule in sorted(by_rule)},
        "families": {fam: tally(by_family[fam]) for fam in sorted(by_family)},
        "projects": projects,
        "lines": lines,
        "per_kloc": 1000 * len(findings) / lines if lines else None,
        "in_tests": sum(f.in_test for f in findings),
        "unlabelled": sum(f.label is None for f in findings),
        "vanished": [dict(label) for label in unmatched],
        "hidden": {
            "overall": tally(hidden),
            "families": {fam: tally(hidden_by_family[fam]) for fam in sorted(hidden_by_family)},
            "labelled": [{**f.label, "now": "hidden (low confidence)"} for f in hidden if f.label is not None],
        },
    }


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def tally_row(name: str, t: dict[str, Any]) -> list[object]:
    counts = [t[k] for k in ("findings", "labelled", *VERDICTS)]
    return [name, *counts, pct(t["precision"]), pct(t["fp_rate"])]


def report(result: dict[str, Any]) -> str:
    """The Markdown report."""
    parts = ["## Projects", ""]
    rows = []
    for p in result["projects"]:
        if p["error"] is not None:
            rows.append(
                [p["project"], p["kind"], p["version"] or "-", "-", "-", "-", "-", "-", f"FAILED: {p['error']}"]
            )
            continue
        kloc = "-" if p["per_kloc"] is None else f"{p['per_kloc']:.2f}"
        in_tests = pct(p["in_tests"] / p["findings"]) if p["findings"] else "-"
        rows.append([p["project"], p["kind"], p["version"], p["files"], f"{p['lines']:,}", p["findings"], kloc,
                     in_tests, f"{p['wall_s']:.1f} s"])  # fmt: skip
    overall = result["overall"]
    total_kloc = "-" if result["per_kloc"] is None else f"{result['per_kloc']:.2f}"
    total_tests = pct(result["in_tests"] / overall["findings"]) if overall["findings"] else "-"
    files = sum(p["files"] for p in result["projects"])
    rows.append(["**all**", "", "", files, f"{result['lines']:,}", overall["findings"], total_kloc, total_tests, ""])
    header = ["project", "kind", "version", "files", "lines", "findings", "per 1,000 lines", "in tests", "wall"]
    parts += [markdown_table(header, rows), ""]
    header = ["", "findings", "labelled", "TP", "debatable", "FP", "precision", "FP rate"]
    parts += ["## Per family", "", markdown_table(header, [tally_row(k, v) for k, v in result["families"].items()])]
    parts += ["", "## Per rule", "", markdown_table(header, [tally_row(k, v) for k, v in result["rules"].items()])]
    parts += ["", "## Overall", "", markdown_table(header, [tally_row("all", overall)]), ""]
    parts.append(f"Unlabelled findings: {result['unlabelled']} of {overall['findings']}.")
    hidden = result["hidden"]
    parts += ["", "## Hidden at default settings (low confidence; `--confidence low` shows them)", ""]
    rows = [tally_row(k, v) for k, v in hidden["families"].items()] + [tally_row("all", hidden["overall"])]
    parts += [markdown_table(header, rows), ""]
    lost = [*hidden["labelled"], *({**v, "now": "no longer found"} for v in result["vanished"])]
    tps = [v for v in lost if v.get("verdict") == "TP"]
    parts.append(f"Labelled findings no longer reported by default: {len(lost)} ({len(tps)} TP).")
    for v in sorted(lost, key=lambda v: (v.get("verdict") != "TP", v["project"], v["file"], int(v["line"]))):
        loud = "**TP LOST**" if v.get("verdict") == "TP" else str(v.get("verdict"))
        where = f"{v['rule']} {v['project']}:{v['file']}:{v['line']}"
        parts.append(f"- {loud} {where} ({v['now']}) `{v.get('snippet', '')}`")
    return "\n".join(parts)


# -- the sample to label ------------------------------------------------------------------------


def allocate(available: dict[str, int], total: int, floor: int = MIN_PER_RULE) -> dict[str, int]:
    """How many findings to draw per rule: ``floor`` each (or all it has), the rest in proportion.

    The remainder is shared by largest remainder so the counts add up to ``total`` exactly, unless
    the floors alone exceed it (then every rule still gets its floor) or there are fewer findings.
    """
    take = {rule: min(n, floor) for rule, n in available.items()}
    left = {rule: available[rule] - take[rule] for rule in available}
    budget = min(total - sum(take.values()), sum(left.values()))
    if budget <= 0:
        return take
    pool = sum(left.values())
    shares = {rule: budget * n / pool for rule, n in left.items()}
    extra = {rule: int(s) for rule, s in shares.items()}
    by_remainder = sorted(left, key=lambda r: (-(shares[r] - extra[r]), r))
    for rule in by_remainder[: budget - sum(extra.values())]:
        extra[rule] += 1
    return {rule: take[rule] + extra[rule] for rule in available}


def draw_sample(findings: Sequence[Finding], total: int, seed: int) -> list[Finding]:
    """A stratified random sample of the unlabelled findings (see ``allocate``), in a stable order."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.label is None:
            by_rule[f.rule].append(f)
    counts = allocate({rule: len(fs) for rule, fs in sorted(by_rule.items())}, total)
    rng = random.Random(seed)
    chosen: list[Finding] = []
    for rule in sorted(by_rule):
        chosen += rng.sample(by_rule[rule], counts[rule])
    return sorted(chosen, key=lambda f: (f.family, f.rule, f.project, f.file, f.line, f.column))


def scopes(source: str) -> list[tuple[int, int, str]]:
    """(first line incl. decorators, last line, qualified name) of every function and class."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    out: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                kind = "class " if isinstance(child, ast.ClassDef) else ""
                out.append((start, child.end_lineno or child.lineno, kind + name))
                visit(child, name + ("." if kind else ".<locals>."))
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def enclosing(spans: Sequence[tuple[int, int, str]], line: int) -> str:
    """The innermost function (or class body) around ``line``; ``<module>`` at the top level."""
    inside = [s for s in spans if s[0] <= line <= s[1]]
    return max(inside, key=lambda s: s[0])[2] if inside else "<module>"


def sample_rows(sample: Sequence[Finding], runs: Sequence[ProjectRun]) -> list[dict[str, Any]]:
    """One JSON object per finding, with what a labeller needs and empty label fields to fill."""
    roots = {r.name: REPO / r.root for r in runs}
    versions = {r.name: r.version for r in runs}
    spans_of: dict[Path, list[tuple[int, int, str]]] = {}
    rows = []
    for f in sample:
        path = roots[f.project] / f.file
        if path not in spans_of:
            spans_of[path] = scopes(path.read_text(encoding="utf-8", errors="replace"))
        source = read_lines(path)
        first, last = max(1, f.line - CONTEXT), min(len(source), f.line + CONTEXT)
        context = "\n".join(f"{'>>' if n == f.line else '  '}{n:5} | {source[n - 1]}" for n in range(first, last + 1))
        rows.append({
            "project": f.project, "version": versions[f.project], "file": f.file, "line": f.line,
            "column": f.column, "rule": f.rule, "family": f.family, "in_test": f.in_test,
            "function": enclosing(spans_of[path], f.line), "message": f.message, "snippet": f.snippet,
            "notes": f.extra.get("notes", []), "speedup": f.extra.get("speedup"), "context": context,
            "verdict": None, "kind": None, "reason": None,
        })  # fmt: skip
    return rows


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = list(rows)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


def split_by_groups(rows: Sequence[dict[str, Any]], groups: Sequence[Sequence[str]]) -> list[list[dict[str, Any]]]:
    """Rows per group; a group names families (``IDM``) or single rules (``IDM012``).

    A rule named in a group wins over its family named in another, so a large family can be shared
    out rule by rule without two labellers ever seeing the same rule. A row whose rule and family
    are named nowhere goes to the last group.
    """
    out: list[list[dict[str, Any]]] = [[] for _ in groups]
    for row in rows:
        index = next((i for i, g in enumerate(groups) if row["rule"] in g), None)
        if index is None:
            index = next((i for i, g in enumerate(groups) if row["family"] in g), len(groups) - 1)
        out[index].append(row)
    return out


# -- main ---------------------------------------------------------------------------------------


def git_revision() -> str:
    proc = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", help=f"comma-separated subset of: {','.join(PROJECTS)}")
    parser.add_argument("--labels", type=Path, default=LABELS, help="labels JSONL (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--perfsquad", help="perfsquad command (default: this checkout's python -m perfsquad)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a labelled TP vanished or FP share > --max-fp")
    parser.add_argument("--max-fp", type=float, default=0.10, help="FP / labelled allowed by --check")
    parser.add_argument("--max-rule-fp", type=float, default=0.20, help="FP / labelled allowed per rule by --check")
    parser.add_argument("--sample", type=int, metavar="N", help="write a stratified sample of N unlabelled findings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where --sample writes (JSONL)")
    parser.add_argument(
        "--split",
        metavar="GROUPS",
        help="also split the sample into OUT.1.jsonl... by families or rules, e.g. ALG+VEC,IO+MEM,IDM",
    )
    args = parser.parse_args(argv)
    if args.sample is not None and args.out is None:
        parser.error("--sample needs --out")
    names = [n.strip() for n in args.projects.split(",") if n.strip()] if args.projects else list(PROJECTS)

    labels, problems = load_labels(args.labels)
    for problem in problems:
        print(f"precision: bad label: {problem}", file=sys.stderr)
    if args.perfsquad:
        perfsquad, env = args.perfsquad.split(), None
    else:
        # `python -m perfsquad` must find this checkout's package though it runs from the corpus dir.
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        perfsquad, env = [sys.executable, "-m", "perfsquad"], {**os.environ, "PYTHONPATH": pythonpath}
    runs: list[ProjectRun] = []
    with tempfile.TemporaryDirectory(prefix="precision-") as scratch:
        config = Path(scratch) / "pyproject.toml"
        config.write_text("")  # defaults: no [tool.perfsquad] table
        for name in names:
            print(f"checking {name} ...", file=sys.stderr)
            run = run_project(name, perfsquad, env, config)
            if run.error is not None:
                print(f"!!! {name}: {run.error}", file=sys.stderr)
            else:
                print(f"    {len(run.findings)} findings, {run.lines:,} lines, {run.wall_s:.1f} s", file=sys.stderr)
            runs.append(run)

    ok = {r.name for r in runs if r.error is None}
    findings = [f for r in runs for f in r.findings]
    # Labels of projects not run this time (or that failed) are not "vanished": they were not looked for.
    unmatched = match_labels(findings, [lab for lab in labels if lab["project"] in ok])
    result = score(runs, unmatched)
    print(report(result))

    if args.sample is not None:
        rows = sample_rows(draw_sample(findings, args.sample, args.seed), runs)
        written = write_jsonl(args.out, rows)
        print(f"\nwrote {written} findings to label to {args.out}", file=sys.stderr)
        if args.split:
            groups = [g.split("+") for g in args.split.split(",")]
            for i, part in enumerate(split_by_groups(rows, groups), 1):
                target = args.out.with_suffix(f".{i}{args.out.suffix}")
                print(f"wrote {write_jsonl(target, part)} ({'+'.join(groups[i - 1])}) to {target}", file=sys.stderr)

    if args.json is not None:
        payload = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "perfsquad_revision": git_revision(),
            "perfsquad_cmd": perfsquad,
            "labels": str(args.labels),
            "bad_labels": problems,
            **result,
            "findings": [asdict(f) for f in findings],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)

    if not args.check:
        return 0
    failures = [f"{r.name} not checked: {r.error}" for r in runs if r.error is not None]
    failures += [
        f"labelled TP vanished: {v['rule']} {v['project']}:{v['file']}:{v['line']}"
        for v in unmatched if v.get("verdict") == "TP"
    ]  # fmt: skip
    failures += [
        f"labelled TP hidden (low confidence): {v['rule']} {v['project']}:{v['file']}:{v['line']}"
        for v in result["hidden"]["labelled"] if v.get("verdict") == "TP"
    ]  # fmt: skip
    failures += [
        f"{rule}: FP share of its labelled findings {t['fp_rate']:.0%} > {args.max_rule_fp:.0%}"
        for rule, t in result["rules"].items() if t["fp_rate"] is not None and t["fp_rate"] > args.max_rule_fp
    ]  # fmt: skip
    fp_rate = result["overall"]["fp_rate"]
    if fp_rate is not None and fp_rate > args.max_fp:
        failures.append(f"FP share of labelled findings {fp_rate:.1%} > {args.max_fp:.0%}")
    if result["overall"]["labelled"] == 0:
        print("precision --check: no labelled finding matched; only vanishings and failures are gated", file=sys.stderr)
    for failure in failures:
        print(f"precision --check FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
