"""Audit reports: one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched;
readable on light and dark themes: the editor's theme colours in a webview, else the system's),
Markdown and JSON, all from the same :class:`~perfsquad.audit.pipeline.AuditResult`. Every place
is a link to its file and line (``file://...#Lline``); the editor's webview variant of the page
(:func:`render_html` with ``csp_source``) opens the source at the line instead."""

from __future__ import annotations

import json
import os
import secrets
from html import escape
from pathlib import Path

from perfsquad.audit.pipeline import PHASE_TITLES, PHASES, AuditResult, audit_json
from perfsquad.audit.roadmap import RoadmapItem, markdown_table, overlap_note, source_uri
from perfsquad.audit.roi import times
from perfsquad.audit.svg import Bar, Segment, column_chart, hbar_chart
from perfsquad.model import Family

FORMATS = ("html", "md", "json")
PHASE_SHORT = {"1-idioms": "1 · idioms", "2-profile": "2 · profile", "3-hotspot": "3 · hotspot", "other": "outside hotspot"}
ROADMAP_ROWS = 50
_FAMILY_ORDER = [f.value for f in Family]

_CSS = """
:root{color-scheme:light dark;--fg:var(--vscode-editor-foreground,#222);--bg:var(--vscode-editor-background,#fff);
 --muted:var(--vscode-descriptionForeground,#555);--rule:var(--vscode-panel-border,#e4e4e4);
 --head:var(--vscode-editorWidget-background,#f6f6f6);--code:var(--vscode-textCodeBlock-background,#f3f3f3);
 --link:var(--vscode-textLink-foreground,#0b5cad);--notebg:#fff8e0;--errbg:#fde8e8}
@media (prefers-color-scheme:dark){:root{--fg:var(--vscode-editor-foreground,#e0e0e0);
 --bg:var(--vscode-editor-background,#1e1e1e);--muted:var(--vscode-descriptionForeground,#a8a8a8);
 --rule:var(--vscode-panel-border,#444);--head:var(--vscode-editorWidget-background,#2a2a2a);
 --code:var(--vscode-textCodeBlock-background,#2d2d2d);--link:var(--vscode-textLink-foreground,#6cb6ff);
 --notebg:#3a3220;--errbg:#4a2020}}
body.vscode-light{--notebg:#fff8e0;--errbg:#fde8e8}body.vscode-dark,body.vscode-high-contrast{--notebg:#3a3220;--errbg:#4a2020}
body{font-family:var(--vscode-font-family,system-ui,-apple-system,Segoe UI,sans-serif);margin:2em auto;max-width:1100px;
 color:var(--fg);background:var(--bg);padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid var(--rule);padding-bottom:.2em}
.meta{color:var(--muted)}.kpis{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.kpi{border:1px solid var(--rule);border-radius:6px;padding:.6em 1em;min-width:9em}
.kpi b{display:block;font-size:1.4em}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--rule);padding:4px 6px;
 text-align:left;vertical-align:top}th{background:var(--head)}td.num{text-align:right;white-space:nowrap}
code{background:var(--code);padding:0 3px;border-radius:3px}a,a.src{color:var(--link)}a.src{cursor:pointer}
.safe{color:#2a9d2a}.unsafe{color:#d9822b}
.display-only,.manual{color:var(--muted)}.note{background:var(--notebg);border-left:4px solid #e0b000;padding:.4em .8em}
.error{background:var(--errbg);border-left:4px solid #c00;padding:.4em .8em}svg.chart{display:block;margin:1em 0}
svg.chart text{fill:var(--fg)}details{margin:.3em 0}.formula{color:var(--muted);font-size:12px}
"""
_SCRIPT = """
(function () {
  const vscode = typeof acquireVsCodeApi === "function" ? acquireVsCodeApi() : null;
  if (!vscode) return;
  document.addEventListener("click", function (event) {
    const link = event.target instanceof Element ? event.target.closest("a.src") : null;
    if (!link) return;
    event.preventDefault();
    vscode.postMessage({ open: link.dataset.file, line: Number(link.dataset.line) });
  });
})();
"""


def _rel(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g} s"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def time_chart(result: AuditResult, limit: int = 12) -> str:
    prof = result.profile
    bars: list[Bar] = []
    if prof is not None:
        from perfsquad.profiling.analysis import user_view

        view = user_view(prof, Path(result.root))
        functions = view.functions or prof.functions
        for fn in sorted(functions, key=lambda f: -f.self_seconds)[:limit]:
            busy = max(fn.self_seconds - fn.idle_seconds, 0.0)
            label = f"{fn.name} ({os.path.basename(fn.file)}:{fn.line})"
            bars.append(
                Bar(label, (Segment("on CPU", busy), Segment("waiting", fn.idle_seconds)), f"{fn.self_seconds:.3g} s")
            )
    title = "Time by function (self time, library time charged to your code)"
    return hbar_chart(title, bars, ("on CPU", "waiting"), chart_id="chart-time", unit=" s")


def hot_lines_table(result: AuditResult, limit: int = 15) -> str:
    """The hottest lines of user code, each with its share, on-CPU or waiting, its source and a link."""
    prof = result.profile
    if prof is None:
        return ""
    from perfsquad.profiling.analysis import function_kind, pareto

    top = pareto(prof, 0.8, Path(result.root))
    total = sum(ln.self_seconds for ln in top.lines) / top.line_share if top.line_share else prof.total_seconds
    rows = []
    for ln in top.lines[:limit]:
        share = ln.self_seconds / total if total else 0.0
        kind = "waiting" if function_kind(ln) == "io" else "on CPU"
        rows.append(
            f'<tr class="hot-line"><td class="num">{share:.1%}</td><td>{kind}</td>'
            f'<td>{_a(ln.file, ln.line)}<code>{escape(_rel(ln.file, result.root))}:{ln.line}'
            f"</code></a></td><td><code>{escape(_source_line(ln.file, ln.line))}</code></td></tr>"
        )
    if not rows:
        return ""
    return (
        '<h3>Hot lines</h3><table id="hot-lines"><thead><tr><th>share</th><th>time</th><th>where</th>'
        "<th>source</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def findings_chart(result: AuditResult) -> str:
    counts = result.family_phase_counts()
    families = [f for f in _FAMILY_ORDER if f in counts] + sorted(set(counts) - set(_FAMILY_ORDER))
    groups = [(f, {PHASE_TITLES[p]: n for p, n in counts[f].items() if p in PHASE_TITLES}) for f in families]
    return column_chart(
        "Findings by family and phase", groups, [PHASE_TITLES[p] for p in PHASES], chart_id="chart-findings"
    )


def roadmap_chart(result: AuditResult, limit: int = 10) -> str:
    """The top items as bars of the time at stake: a finding's estimated saving; for hot code with
    no finding, and for measured items without an estimate, the measured time (its own color: the
    most a change there can save, not a prediction)."""
    from perfsquad.audit.roadmap import stake_seconds

    bars: list[Bar] = []
    measured = result.profile is not None
    for item in result.roadmap[:limit]:
        est = item.estimate
        label = f"#{item.rank} {item.finding.code} {os.path.basename(item.path)}:{item.line}"
        if item.function:
            label += f" {item.function}"
        if measured:
            held = (est.share or 0.0) * (est.wall_seconds or 0.0)
            if item.family == "HOT" or est.saved_seconds is None:
                bars.append(Bar(label, (Segment(MEASURED, held),), f"{held:.3g} s measured · {est.effort_minutes} min"))
            else:
                saved = max(stake_seconds(item), 0.0)
                bars.append(Bar(label, (Segment(SAVED, saved),), f"{saved:.3g} s · {est.effort_minutes} min"))
        else:
            ratio = est.speedup.ratio if est.speedup else 0.0
            bars.append(Bar(label, (Segment("calibrated speedup", ratio),), f"{times(ratio)} · {est.effort_minutes} min"))
    series = (SAVED, MEASURED) if measured else ("calibrated speedup",)
    title = "Roadmap: time at stake per item" if measured else "Roadmap (no profile): calibrated speedup per item"
    return hbar_chart(title, bars, series, chart_id="chart-roadmap", unit=" s" if measured else "x")


SAVED = "estimated time saved"
MEASURED = "measured time, no estimate"


def _a(path: str, line: int) -> str:
    """An opening link to a place in the source: its ``file://`` URI (a browser opens the file),
    and the file and line as data the editor's view reads to open the source at that line."""
    return (
        f'<a class="src" href="{escape(source_uri(path, line))}" data-file="{escape(str(Path(path).resolve()))}" '
        f'data-line="{int(line)}">'
    )


def _source_line(path: str, line: int) -> str:
    from perfsquad.profiling.waits import source_lines

    lines = source_lines(path)
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _row(item: RoadmapItem, root: str) -> str:
    est = item.estimate
    f = item.finding
    where = f"{_rel(item.path, root)}:{item.line}"
    speed = times(est.speedup.ratio) if est.speedup else "-"
    title = f.fix.title if f.fix else "manual change"
    short = title if len(title) <= 90 else title[:89] + "\u2026"
    return (
        f'<tr class="roadmap-row" data-code="{escape(f.code)}" data-rank="{item.rank}">'
        f'<td class="num">{item.rank}</td><td><code>{escape(f.code)}</code></td>'
        f"<td>{escape(f.message)}<div class='formula'>{escape(est.describe())}</div>"
        + "".join(f"<div class='formula'>{escape(n)}</div>" for n in (f.notes if item.family == "HOT" else ()))
        + (f"<div class='formula'>{escape(overlap_note(item))}</div>" if overlap_note(item) else "")
        + "</td>"
        f'<td>{_a(item.path, item.line)}<code>{escape(where)}</code></a>'
        f"<br>{escape(item.function or '(module)')}</td>"
        f"<td>{escape(PHASE_SHORT.get(item.phase, item.phase))}</td>"
        f'<td class="num">{_share(est.share)}</td><td class="num">{speed}</td>'
        f'<td class="num">{_seconds(est.saved_seconds)}</td><td class="num">{est.effort_minutes} min</td>'
        f'<td class="{escape(est.safety)}" title="{escape(title)}">{escape(est.safety)}<br>{escape(short)}</td></tr>'
    )


def _paths_label(result: AuditResult) -> str:
    """The audited paths relative to the root (the root's own name for the root itself)."""
    names = [_rel(os.path.abspath(p), result.root) for p in result.paths]
    return ", ".join(n if n != "." else os.path.basename(result.root) for n in names) or result.root


def _title(result: AuditResult) -> str:
    return f"perfsquad audit · {_paths_label(result)} ({result.root})"


def render_html(result: AuditResult, title: str | None = None, csp_source: str | None = None) -> str:
    """The report page. ``title`` replaces the audit's (the editor's roadmap). With ``csp_source``
    (a VS Code webview's ``cspSource``) the page is for a webview: a security policy, and one
    script by nonce that posts ``{"open": file, "line": n}`` when a place is clicked (the editor
    opens the source there); without it the page has no script (its ``file://`` links open the
    file in a browser)."""
    root = result.root
    prof = result.profile
    title = title or _title(result)
    head = ""
    script = ""
    if csp_source is not None:
        nonce = secrets.token_hex(16)
        csp = f"default-src 'none'; style-src 'unsafe-inline' {csp_source}; script-src 'nonce-{nonce}'; img-src data:;"
        head = f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">'
        script = f'<script nonce="{nonce}">{_SCRIPT}</script>'
    out = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8">{head}',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(_paths_label(result))} in {escape(root)} · {escape(result.created)}'
        + (f" · run: <code>{escape(result.run_command)}</code>" if result.run_command else "")
        + "</p>",
        '<div class="kpis">',
        f'<div class="kpi"><b>{result.findings_count}</b>findings</div>',
        f'<div class="kpi"><b>{len(result.reports)}</b>files analyzed</div>',
    ]
    if prof is not None:
        out.append(f'<div class="kpi"><b>{prof.wall_seconds:.2f} s</b>profiled wall time ({escape(prof.sampler)})</div>')
        out.append(f'<div class="kpi"><b>{escape(result.bottleneck_kind or "?").upper()}</b>bottleneck</div>')
        if result.roadmap and result.roadmap[0].estimate.saved_seconds:
            out.append(f'<div class="kpi"><b>{result.roadmap[0].estimate.saved_seconds:.2f} s</b>saved by item #1</div>')
    out.append("</div>")
    if result.profile_error:
        out.append(f'<p class="error">Profiling failed: {escape(result.profile_error)}</p>')
    out.extend(f'<p class="note">{escape(n)}</p>' for n in result.notes)

    out.append("<h2>Roadmap</h2>")
    out.append(
        "<p>A plan, ranked by the time at stake: a finding's time saved = share of the measured run * (1 - 1/speedup) "
        "* wall time (Amdahl's law; speedups calibrated per rule by <code>bench/calibrate.py</code>), hot code with no "
        "finding by the time it holds; an item that covers others comes first. Apply from the top.</p>"
        if prof is not None
        else "<p>No profile was taken, so nothing is measured: items are ranked by static severity, then calibrated "
        "speedup, then effort.</p>"
    )
    out.append(
        '<table id="roadmap"><thead><tr><th>#</th><th>rule</th><th>finding</th><th>where</th><th>phase</th>'
        "<th>share</th><th>speedup</th><th>saved</th><th>effort</th><th>fix safety</th></tr></thead><tbody>"
    )
    out.extend(_row(item, root) for item in result.roadmap[:ROADMAP_ROWS])
    out.append("</tbody></table>")
    if len(result.roadmap) > ROADMAP_ROWS:
        out.append(f"<p>… and {len(result.roadmap) - ROADMAP_ROWS} more in the JSON report.</p>")
    out.append(roadmap_chart(result))  # (after the table: the list to act on comes first)

    out.append("<h2>Phase 2 · where the time goes</h2>")
    if prof is not None:
        out.append(f"<p><b>{escape(result.bottleneck_headline or '')}</b></p><ul>")
        out.extend(f"<li>{escape(e)}</li>" for e in result.bottleneck_evidence)
        out.append("</ul>")
        if result.hotspot:
            out.append(f"<p>The 80/20 set ({result.hotspot_share:.0%} of the time):</p><ul>")
            out.extend(
                f'<li>{_a(h.file, h.line)}<code>{escape(h.name)}</code></a> '
                f"({escape(_rel(h.file, root))}:{h.line}) {h.share:.0%} · {escape(h.kind)}</li>"
                for h in result.hotspot
            )
            out.append("</ul>")
        out.append(hot_lines_table(result))
        out.append(time_chart(result))
    else:
        out.append("<p>Not profiled.</p>")
    out.extend(memory_html(result))

    out.append("<h2>Findings by family and phase</h2>")
    out.append(findings_chart(result))
    for phase, items in result.by_phase().items():
        if not items:
            continue
        out.append(f"<details><summary>{escape(PHASE_TITLES.get(phase, phase))} ({len(items)})</summary><ul>")
        out.extend(
            f"<li><code>{escape(i.finding.code)}</code> {_a(i.path, i.line)}{escape(_rel(i.path, root))}:{i.line}</a> "
            f"{escape(i.finding.message)}</li>"
            for i in items
        )
        out.append("</ul></details>")
    errors = [r for r in result.reports if r.error]
    if errors:
        out.append("<h2>Files with problems</h2><ul>")
        out.extend(f"<li>{escape(_rel(r.path, root))}: {escape(r.error or '')}</li>" for r in errors)
        out.append("</ul>")
    out.append('<p class="meta">Generated by perfsquad. This page is self-contained: it loads nothing.</p>')
    out.append(f"{script}</body></html>")
    return "\n".join(out)


def _memory_sections(result: AuditResult) -> list[tuple[str, list[str]]]:
    from perfsquad.profiling.memory import memory_sections

    if result.profile is None:
        return []
    return memory_sections(result.profile, lambda file, line: f"{_rel(file, result.root)}:{line}")


def memory_html(result: AuditResult) -> list[str]:
    """The memory pass (collector cost and advice, objects at the peak, reference cycles and their
    items, each with its fix)."""
    from perfsquad.profiling.memory import cycle_items

    sections = _memory_sections(result)
    if not sections:
        return []
    out = ['<h2 id="memory">Memory pass</h2>']
    for title, lines in sections:
        out.append(f"<h3>{escape(title)}</h3><pre>{escape(chr(10).join(lines))}</pre>")
    items = cycle_items(result.profile.cycles if result.profile else None)
    if items:
        out.append('<table id="cycles"><thead><tr><th>where</th><th>finding</th><th>evidence</th><th>fix</th></tr></thead><tbody>')
        out.extend(
            f'<tr><td>{_a(i["file"], i["line"])}{escape(_rel(i["file"], result.root))}:{i["line"]}</a>'
            f"</td><td>{escape(i['message'])}</td><td>{escape(i['evidence'])}</td><td>{escape(i['fix'])}</td></tr>"
            for i in items
        )
        out.append("</tbody></table>")
    return out


def render_markdown(result: AuditResult) -> str:
    root = result.root
    prof = result.profile
    md = [f"# {_title(result)}", ""]
    md.append(f"- paths: {', '.join(_rel(p, root) for p in result.paths)}")
    md.append(f"- findings: {result.findings_count} in {len(result.reports)} files")
    if result.run_command:
        md.append(f"- run: `{result.run_command}`")
    if prof is not None:
        md.append(f"- profiled wall time: {prof.wall_seconds:.2f} s ({prof.sampler})")
        md.append(f"- bottleneck: **{result.bottleneck_headline}**")
    if result.profile_error:
        md.append(f"- profiling failed: {result.profile_error}")
    md.extend(f"> {n}" for n in result.notes)
    md += ["", "## Roadmap", ""]
    md.append(
        "A plan ranked by time at stake: share * (1 - 1/speedup) * wall time for a finding, the measured time for "
        "hot code with no finding; an item that covers others first."
        if prof is not None
        else "No profile: ranked by static severity, calibrated speedup, then effort."
    )
    md += ["", *markdown_table(result.roadmap, root, ROADMAP_ROWS)]
    if result.roadmap:
        md += ["", "Top item: " + result.roadmap[0].estimate.describe()]
        md.extend(f"- #{i.rank}: {overlap_note(i)}" for i in result.roadmap[:ROADMAP_ROWS] if overlap_note(i))
    if prof is not None:
        md += ["", "## Where the time goes", ""]
        md.extend(f"- {e}" for e in result.bottleneck_evidence)
        md += [""]
        md.extend(f"- `{h.name}` ({_rel(h.file, root)}:{h.line}) {h.share:.0%} · {h.kind}" for h in result.hotspot)
    for title, lines in _memory_sections(result):
        md += ["", f"## {title}", "", "```", *lines, "```"]
    md += ["", "## Findings by family and phase", "", "| family | " + " | ".join(PHASES) + " |",
           "|---|" + "---|" * len(PHASES)]  # fmt: skip
    for family, counts in sorted(result.family_phase_counts().items()):
        md.append(f"| {family} | " + " | ".join(str(counts.get(p, 0)) for p in PHASES) + " |")
    return "\n".join(md) + "\n"


def write_reports(result: AuditResult, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``report.html`` / ``report.md`` / ``report.json`` into ``out_dir``; returns the files.
    Each is replaced atomically; a symlink in ``.perfsquad/`` or as a report is refused
    (``files.WriteError``, an ``OSError``, names the file and why)."""
    from perfsquad.files import ensure_dir, write_text_atomically

    ensure_dir(out_dir)
    written = []
    for fmt in formats:
        path = out_dir / f"report.{fmt}"
        if fmt == "html":
            text = render_html(result)
        elif fmt == "md":
            text = render_markdown(result)
        elif fmt == "json":
            text = json.dumps(audit_json(result), indent=1) + "\n"
        else:
            raise ValueError(f"unknown report format {fmt!r}")
        write_text_atomically(path, text)
        written.append(path)
    return written
