"""`perfsquad audit`: the three phases on the demo project, and the reports they produce.

The demo run is profiled once for the module. The HTML report is parsed (charts and roadmap
rows present, nothing loaded from elsewhere) and rendered by headless Chromium (Debian package,
installed by scripts/setup-chromium.sh), which also saves a screenshot under test-artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support import ROOT

from perfsquad.cli import main

ARTIFACTS = ROOT / "test-artifacts"


class Outline(HTMLParser):
    """Counts what the report is made of."""

    def __init__(self) -> None:
        super().__init__()
        self.svg_ids: list[str] = []
        self.bars = 0
        self.roadmap_rows: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.external: list[str] = []
        self.source_links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "svg":
            self.svg_ids.append(a.get("id", ""))
        if tag == "rect" and a.get("class") == "bar":
            self.bars += 1
        if tag == "tr" and "roadmap-row" in a.get("class", ""):
            self.roadmap_rows.append(a)
        for key in ("src", "href"):
            if key in a and not a[key].startswith("#"):
                if tag == "a" and a[key].startswith("file://"):
                    self.source_links.append(a[key])  # a link to the user's source: opened on click, never fetched
                else:
                    self.external.append(a[key])


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def demo_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    out = tmp_path_factory.mktemp("audit")
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "audit", "demo", "--run", "python demo/run.py", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout, proc.stderr


def test_demo_audit_top_item_is_the_seeded_hotspot(demo_audit: tuple[Path, str, str]) -> None:
    out, stdout, stderr = demo_audit
    for phase in ("phase 1/3", "phase 2/3", "phase 3/3"):
        assert phase in stderr  # progress goes to stderr
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == "perfsquad.audit/1"
    assert data["profile"]["wall_seconds"] > 0 and data["bottleneck"]["kind"] in ("cpu", "io", "memory")
    roadmap = data["roadmap"]
    assert len(roadmap) >= 20 and [r["rank"] for r in roadmap] == list(range(1, len(roadmap) + 1))
    top = roadmap[0]
    # demo/README.md: the seeded hotspot is group_similar's all-pairs loop (+ the pure-Python dot
    # products and norms of cosine() it calls): the dominant CPU cost.
    # The plan's first step is the all-pairs rewrite itself: it makes the norm and dot rewrites
    # inside cosine() moot (they follow it, marked as covered), whatever their effort.
    assert top["filename"].endswith("memoria/similarity.py")
    assert (top["code"], top["function"]) == ("VEC006", "group_similar")
    assert top["phase"] == "3-hotspot" and top["share"] > 0.2 and top["saved_seconds"] > 0
    inside = [r for r in roadmap if r["function"] == "cosine"]
    # (cosine is called from elsewhere too: an item whose time is not >= 80% inside is not "covered".)
    assert inside and all(r["rank"] > 1 for r in inside) and set(top["covers"]) & {r["rank"] for r in inside}
    # The headline names the time spent waiting on its own (the demo's seeded I/O wait).
    assert "I/O wait" in data["bottleneck"]["headline"]
    assert "I/O wait" in stdout.split("Bottleneck:", 1)[1].splitlines()[0]
    all_pairs = [r for r in roadmap if r["function"] == "group_similar" and r["family"] in ("VEC", "ALG")]
    assert all_pairs and all_pairs[0]["rank"] <= 5
    # The all-pairs loop holds the largest measured share of any finding, and most of the CPU time
    # (not "most of the run": the demo's seeded 1 s wait is a larger part of it on a faster machine).
    assert all_pairs[0]["share"] == max(r["share"] or 0 for r in roadmap)
    assert all_pairs[0]["share"] * data["profile"]["total_seconds"] > 0.5 * data["profile"]["cpu_seconds"]
    assert "Roadmap (apply in this order):" in stdout
    assert f"1. {top['code']} demo/memoria/similarity.py:{top['line']}" in stdout
    # Idioms are phase 1 and, in code the run never executed, save nothing.
    idioms = [r for r in roadmap if r["family"] == "IDM"]
    assert idioms and all(r["phase"] == "1-idioms" for r in idioms)
    # Every finding of the tree is in the roadmap, and the family x phase counts add up.
    counts = data["findings_by_family_and_phase"]
    assert sum(n for by_phase in counts.values() for n in by_phase.values()) == len(roadmap)
    md = (out / "report.md").read_text()
    # Each place links to its file at the line (file://: the report lives in .perfsquad/audit/).
    link = f"{Path(top['filename']).resolve().as_uri()}#L{top['line']}"
    assert "## Roadmap" in md and f"| 1 | [demo/memoria/similarity.py:{top['line']}]({link}) in `group_similar` | {top['code']} |" in md


def test_demo_html_report_is_self_contained(demo_audit: tuple[Path, str, str]) -> None:
    out, _, _ = demo_audit
    html = (out / "report.html").read_text()
    doc = outline(html)
    assert {"chart-time", "chart-findings", "chart-roadmap"} <= set(doc.svg_ids)
    assert doc.bars >= 10
    data = json.loads((out / "report.json").read_text())
    assert len(doc.roadmap_rows) == min(len(data["roadmap"]), 50)
    assert doc.roadmap_rows[0]["data-rank"] == "1" and doc.roadmap_rows[0]["data-code"] == data["roadmap"][0]["code"]
    assert "script" not in doc.tags and "link" not in doc.tags and "img" not in doc.tags
    assert doc.external == []
    # Report quality: the audited path in the title; no label clipped in the charts; every roadmap
    # item and hotspot function linked to its file and line; the hot lines with their source.
    assert "<title>perfsquad audit · demo (" in html
    assert "\u2026</text>" not in html and "…</text>" not in html
    top = data["roadmap"][0]
    link = f'href="{(Path(top["filename"]).resolve()).as_uri()}#L{top["line"]}"'
    assert link in html and len(doc.source_links) >= len(doc.roadmap_rows)
    assert '<table id="hot-lines">' in html and "cosine" in html
    assert "<code>dot = sum(x * y for x, y in zip(a, b))</code>" in html or "<code>na = math.sqrt(" in html
    # The roadmap chart's bars are real: the top item's bar is drawn with a positive width.
    chart = html.split('id="chart-roadmap"', 1)[1].split("</svg>", 1)[0]
    widths = [float(w) for w in re.findall(r'class="bar" x="[\d.]+" y="\d+" width="([\d.]+)"', chart)]
    assert widths and widths[0] > 50


def _png_facts(path: Path) -> tuple[int, int, float]:
    """Width, height and the share of non-white bytes of the decoded image data."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    pos, idat = 8, b""
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return width, height, sum(1 for b in pixels[::7] if b != 0xFF) / max(len(pixels[::7]), 1)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is missing: run scripts/setup-chromium.sh (scripts/test.sh does)"
    return exe


def _chromium_args(tmp: Path) -> list[str]:
    return [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            f"--user-data-dir={tmp}"]  # fmt: skip


def test_demo_report_renders_in_headless_chromium(demo_audit: tuple[Path, str, str], tmp_path: Path) -> None:
    out, _, _ = demo_audit
    url = (out / "report.html").resolve().as_uri()
    dom = subprocess.run([*_chromium_args(tmp_path / "a"), "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = outline(dom.stdout)
    assert {"chart-time", "chart-findings", "chart-roadmap"} <= set(rendered.svg_ids)
    assert len(rendered.roadmap_rows) >= 20

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "audit-report.png"
    shot.unlink(missing_ok=True)
    proc = subprocess.run([*_chromium_args(tmp_path / "b"), "--window-size=1200,1800", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    width, height, ink = _png_facts(shot)
    assert (width, height) == (1200, 1800)
    assert ink > 0.01  # something was drawn: text, bars, table rules


def test_audit_without_profile_and_with_a_failing_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.py"
    app.write_text("def lowest(xs):\n    return sorted(xs)[0]\n\nprint(lowest([3, 1, 2]))\n")
    out = tmp_path / "out"
    assert main(["audit", str(tmp_path), "--out", str(out), "--format", "json,md"]) == 0
    stdout, stderr = capsys.readouterr()
    assert "phase 2/3: skipped" in stderr and "No profile" in stdout
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert data["profile"] is None and data["roadmap"][0]["code"] == "IDM007"
    assert data["roadmap"][0]["share"] is None
    assert not (out / "report.html").exists() and (out / "report.md").exists()

    code = main(["audit", str(tmp_path), "--out", str(out), "--run", f"{tmp_path / 'missing.py'}"])
    stdout, _ = capsys.readouterr()
    assert code == 2 and "Profiling failed" in stdout
    assert main(["audit", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_audit_uses_the_configured_profile_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nprofile-command = "python app.py"\n')
    (tmp_path / "app.py").write_text(
        "def lowest(xs):\n    return sorted(xs)[0]\n\n"
        "def main():\n    total = 0\n    for i in range(300):\n        total += lowest(list(range(i, i + 3000)))\n"
        "    print(total)\n\nmain()\n"
    )
    out = tmp_path / "out"
    assert main(["audit", str(tmp_path), "--out", str(out), "--format", "json,html", "--sampler", "cprofile"]) == 0
    capsys.readouterr()
    data = json.loads((out / "report.json").read_text())
    assert data["run_command"] == "python app.py" and data["profile"]["sampler"] == "cprofile"
    top = data["roadmap"][0]
    assert top["code"] == "IDM007" and top["function"] == "lowest" and top["share"] > 0
    assert top["saved_seconds"] == pytest.approx(
        data["profile"]["wall_seconds"] * top["share"] * (1 - 1 / top["speedup"])
    )
    assert outline((out / "report.html").read_text()).roadmap_rows


def test_run_command_runs_where_the_user_typed_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.perfsquad]\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "app.py").write_text("def lowest(xs):\n    return sorted(xs)[0]\n\nprint(lowest([3, 1, 2]))\n")
    monkeypatch.chdir(sub)  # the workspace root is tmp_path, the shell is in sub/
    assert main(["audit", ".", "--run", "python app.py", "--out", str(tmp_path / "out"), "--format", "json",
                 "--sampler", "cprofile"]) == 0  # fmt: skip
    capsys.readouterr()
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["profile_error"] is None and data["profile"]["exit_code"] == 0


def test_audit_with_a_saved_profile_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--profile FILE` is phase 2: the configured profile-command is not run, the roadmap is measured,
    and a profile that cannot be read, or with --run, is a usage error (exit 2), no traceback."""
    from perfsquad.profiling.model import FrameRef, FunctionStat, Profile

    app = tmp_path / "app.py"
    app.write_text("def lowest(xs):\n    return sorted(xs)[0]\n\n\ndef main():\n    return lowest([3, 1, 2])\n")
    (tmp_path / "pyproject.toml").write_text("[tool.perfsquad]\nprofile-command = \"python -c 'raise SystemExit(5)'\"\n")
    f = str(app)
    profile = Profile(("python", "app.py"), "py-spy", 4.0, 4.0, (FunctionStat("lowest", f, 1, 3.0, 3.0),), (),
                      frames=(FrameRef("main", f, 6), FrameRef("lowest", f, 2)),
                      stacks=(((0, 1), 3.0, 0.0), ((0,), 1.0, 0.0)))  # fmt: skip
    saved = tmp_path / "profile.json"
    saved.write_text(json.dumps(profile.to_json()))
    out = tmp_path / "out"
    assert main(["audit", str(tmp_path), "--profile", str(saved), "--out", str(out), "--format", "json,md"]) == 0
    stdout, stderr = capsys.readouterr()
    assert "No profile" not in stdout and "ran `" not in stdout and "the loaded profile of `python app.py`" in stdout
    assert "phase 2/3: the loaded profile of `python app.py` (nothing run)" in stderr
    data = json.loads((out / "report.json").read_text())
    assert data["run_command"] is None and data["profile_error"] is None and data["profile"]["wall_seconds"] == 4.0
    (idm,) = [r for r in data["roadmap"] if r["code"] == "IDM007"]
    assert idm["line"] == 2 and idm["share"] > 0.5 and idm["saved_seconds"] > 0
    assert f"[app.py:2]({app.resolve().as_uri()}#L2) in `lowest`" in (out / "report.md").read_text()

    # The profile of a run that failed measures the failure: reported, never ranked by.
    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps({**profile.to_json(), "exit_code": 1, "warnings": ["No module named pytest"]}))
    assert main(["audit", str(tmp_path), "--profile", str(failed), "--out", str(out), "--format", "json"]) == 2
    stdout, _ = capsys.readouterr()
    assert "Profiling failed: the loaded profile's run `python app.py` failed (exit code 1): No module named pytest" in stdout
    assert json.loads((out / "report.json").read_text())["roadmap"][0]["share"] is None

    (tmp_path / "junk.prof").write_text("not a profile")
    assert main(["audit", str(tmp_path), "--profile", str(tmp_path / "junk.prof")]) == 2
    assert "--profile" in capsys.readouterr().err
    assert main(["audit", str(tmp_path), "--profile", str(saved), "--run", "python app.py"]) == 2
    assert "cannot go with --run" in capsys.readouterr().err
