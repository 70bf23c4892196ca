"""Rule documentation, generated from rule docstrings: ``perfsquad explain``, hovers, SARIF,
docs/rules/, and where each rule's page lives (:func:`rule_doc_url`).

``python -m perfsquad.docs [OUTDIR]`` regenerates ``docs/rules/`` (a test checks it is current).

The rule registry is imported inside the functions that read it: the CLI imports
:func:`rule_doc_url` at start-up for every JSON finding, and a warm ``perfsquad check`` never
loads the rules, so importing this module must not load them either.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from perfsquad.calibration import GROUP_SIZE, READABILITY, Calibration, choose, tables
from perfsquad.rule import DOC_SECTIONS, Rule

RULES_DIR = Path(__file__).resolve().parent.parent / "docs" / "rules"
"""The generated Markdown, in a source checkout (absent from an installed wheel)."""


@functools.lru_cache(maxsize=256)
def rule_doc_url(code: str) -> str:
    """Where a rule's documentation lives: the generated Markdown in ``docs/rules/`` (looked up
    once per code: every diagnostic of every publish carries it)."""
    repo_docs = RULES_DIR / f"{code}.md"
    if repo_docs.exists():
        return repo_docs.as_uri()
    return rule_web_url(code)


WEB_RULES = "https://github.com/perfsquad/perfsquad/blob/main/docs/rules"
"""Where the rule pages are published: links that leave this machine (SARIF's ``helpUri``)."""


def rule_web_url(code: str) -> str:
    """A rule's published page, whatever the installation (a SARIF log is read on another machine)."""
    return f"{WEB_RULES}/{code}.md"


def speedup_line(rule: type[Rule], calibration: Calibration | None = None) -> str:
    """The rule's measured speedup on one table (the running Python's by default), naming it."""
    calibration = calibration or choose(None)
    s = calibration.speedup(rule.code)
    if s is None:
        return f"Not measured on this Python ({calibration.describe()}): run `python bench/calibrate.py` with it."
    return f"Measured: {s.describe()}."


def group_line(rule: type[Rule], calibration: Calibration) -> str:
    """The rule's group on one table, and why, e.g. for ``perfsquad explain`` and hovers."""
    ratio = calibration.ratio(rule.code)
    if ratio is None:
        return f"Group: performance (no calibration on this Python; {calibration.describe()})."
    at = f"{ratio:.2f}x at n={GROUP_SIZE:,}, {calibration.describe()}"
    if calibration.group(rule.code) == READABILITY:
        return (
            f"Group: readability ({at}): the rewrite is slower on this Python at n={GROUP_SIZE:,} or above, "
            "so the rule is off unless "
            f"selected by its code or `readability`, and reports at info severity at most."
        )
    return f"Group: performance ({at})."


@functools.cache
def _every_table() -> tuple[tuple[Calibration, str], ...]:
    """One Calibration per shipped table, made once: each computes its readability group lazily,
    over every rule, and SARIF writes every rule's page."""
    return tuple(
        (Calibration(table, table.version, f"table {table.version[0]}.{table.version[1]}"), table.python)
        for table in tables()
    )


def versions_table(rule: type[Rule]) -> list[str]:
    """The rule's ratio at n=1,000 and its group on every calibrated Python (the docs' pages)."""
    rows = []
    for calibration, python in _every_table():
        ratio = calibration.ratio(rule.code)
        speedup = calibration.speedup(rule.code)
        if ratio is not None and speedup is not None:
            every = ", ".join(f"{r:.2f}x at {n:,}" for n, r in speedup.sizes)
            rows.append(f"| {python} | {ratio:.2f}x | {calibration.group(rule.code)} | {every} |")
    if not rows:
        return ["Not measured (no `Bench`, or not calibrated yet: run `python bench/calibrate.py`).", ""]
    head = f"| Python | ratio at n={GROUP_SIZE:,} | group | every size (old time / new time) |"
    why = (
        f"On a Python where the ratio at n={GROUP_SIZE:,} or at any larger size is below 1.0 the rule is in the "
        "`readability` group: "
        "off unless selected by its code or `readability`, info severity at most, applied by `--fix` only when selected."
    )
    return [head, "| --- | ---: | --- | --- |", *rows, "", why, ""]


def rule_markdown(rule: type[Rule], calibration: Calibration | None = None) -> str:
    """The rule's page: static (every calibrated Python) for docs/rules/; with a ``calibration``
    (``perfsquad explain``), also the figure and group on that Python, naming it."""
    sections = rule.doc_sections()
    safety = rule.fix_safety.value if rule.fix_safety else "no fix"
    lines = [
        f"# {rule.code} `{rule.name}`",
        "",
        f"Family: {rule.family().label} ({rule.family().value}) · Fix: {safety} · "
        f"Effort: ~{rule.effort_minutes} min",
        "",
        f"> {rule.message}",
        "",
    ]
    for name in DOC_SECTIONS:
        body = sections.get(name, "")
        lines += [f"## {name}", "", body, ""]
        if name == "Speedup":
            lines += versions_table(rule)
            if calibration is not None:
                lines += [speedup_line(rule, calibration), "", group_line(rule, calibration), ""]
    return "\n".join(lines).rstrip() + "\n"


def index_markdown() -> str:
    from perfsquad.analyzers import RULES

    lines = ["# Rules", "", "Generated by `python -m perfsquad.docs`; do not edit by hand.", ""]
    lines += ["| Code | Name | Fix | Message |", "| --- | --- | --- | --- |"]
    for rule in RULES:
        fix = rule.fix_safety.value if rule.fix_safety else "-"
        lines.append(f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {fix} | {rule.message} |")
    return "\n".join(lines) + "\n"


def generate(outdir: Path) -> list[Path]:
    from perfsquad.analyzers import RULES
    from perfsquad.files import ensure_dir, write_text_atomically

    ensure_dir(outdir)
    written = []
    for rule in RULES:
        path = outdir / f"{rule.code}.md"
        write_text_atomically(path, rule_markdown(rule))
        written.append(path)
    index = outdir / "README.md"
    write_text_atomically(index, index_markdown())
    written.append(index)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else RULES_DIR
    for p in generate(target):
        print(p)
