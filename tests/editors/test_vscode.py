"""The VS Code client, tested in a real VS Code and with its own unit tests.

- ``test_client_unit_tests``: the TypeScript unit tests (interpreter choice, settings plumbing,
  status bar, pytest node ids) run by ``npm test`` in vscode-client/.
- ``test_real_vscode``: builds the .vsix (scripts/build-vsix.sh), installs it into code-server
  4.100.3 (scripts/setup-vscode-tests.sh), opens a workspace with a seeded file in Debian Chromium
  driven by playwright-core (tests/editors/vscode/drive.js), and checks on screen and on disk: the squiggle
  and the Problems entry, the hover's speedup text, a quick fix applied and saved, two palette
  commands (Fix All, Restart Server), a profile with its flame-graph view and gutter heat. Screenshots
  and logs go to tests/editors/vscode/artifacts/.
- ``test_real_vscode_roadmap_view``: the same set-up, driven through ``SCENARIO=roadmap``: a profile,
  then the Optimization Roadmap view from the palette, every row linked, a click opening the source.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ROOT

CLIENT = ROOT / "vscode-client"
ARTIFACTS = ROOT / "tests" / "editors" / "vscode" / "artifacts"

# busy() runs for 0.6 s of CPU time whatever the machine's speed (40 calls took 0.3-0.5 s here: a
# machine three times faster would give py-spy too few samples, and the profile would be refused).
PROFILED = '''"""A CPU-bound script for "perfsquad: Profile Current File"."""
import time


def busy(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


if __name__ == "__main__":
    start = time.process_time()
    while time.process_time() - start < 0.6:
        busy(200_000)
'''

SEEDED = '''"""Seeded for the VS Code test."""


def has_user(users: dict[str, int], name: str) -> bool:
    return name in users.keys()


def doubled(values: list[int]) -> list[int]:
    return list(map(lambda v: v * 2, values))
'''


def _run(cmd: list[str], timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def e2e_prefix() -> Path:
    out = _run(["bash", "scripts/setup-vscode-tests.sh"], timeout=1200)
    prefix = Path(out.stdout.strip().splitlines()[-1])
    assert (prefix / "node_modules" / ".bin" / "code-server").exists()
    return prefix


@pytest.fixture(scope="module")
def vsix() -> Path:
    out = _run(["bash", "scripts/build-vsix.sh"], timeout=1200)
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.suffix == ".vsix"
    return path


def test_client_unit_tests() -> None:
    if not (CLIENT / "node_modules" / ".package-lock.json").exists():
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout=600, cwd=CLIENT)
    proc = subprocess.run(["npm", "test"], cwd=CLIENT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    passed = re.search(r"^# pass (\d+)$", output, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", output, re.MULTILINE)
    assert passed and failed, output[-3000:]
    assert int(failed.group(1)) == 0
    assert int(passed.group(1)) >= 20  # the suites in vscode-client/test/ all ran
    for name in ("the perfsquad.interpreter setting wins", "client-only settings never reach the server"):
        assert re.search(rf"^ok \d+ - {re.escape(name)}", output, re.MULTILINE), name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this project's venv: `python3` must be the machine's own."""
    venv_bin = str(ROOT / ".venv" / "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env.update(extra)
    return env


@pytest.fixture
def code_server(tmp_path: Path, e2e_prefix: Path, vsix: Path) -> Iterator[dict[str, object]]:
    data, extensions, workspace = tmp_path / "user-data", tmp_path / "extensions", tmp_path / "workspace"
    for d in (data / "User", extensions, workspace):
        d.mkdir(parents=True)
    (workspace / "slow.py").write_text(SEEDED, encoding="utf-8")
    (workspace / "work.py").write_text(PROFILED, encoding="utf-8")
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "settings.json").write_text("{}\n", encoding="utf-8")  # changed by drive.js
    settings = {
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.ignoreRecommendations": True,
        "workbench.enableExperiments": False,
        "workbench.tips.enabled": False,
        "update.mode": "none",
        "editor.hover.delay": 150,
        "files.autoSave": "off",
    }
    (data / "User" / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    code_server_bin = str(e2e_prefix / "node_modules" / ".bin" / "code-server")
    env = _clean_env(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    common = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [code_server_bin, *common, "--install-extension", str(vsix)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    installed = list(extensions.glob("perfsquad.perfsquad-*"))
    assert installed and (installed[0] / "bundled" / "libs" / "perfsquad").is_dir(), install.stdout
    # The bundled server is perfsquad's wheel installed (its metadata and package data), not a copy of the sources.
    libs = installed[0] / "bundled" / "libs"
    bundle = json.loads((libs / "perfsquad-bundle.json").read_text(encoding="utf-8"))
    assert bundle["wheel"].startswith("perfsquad-") and bundle["wheel"].endswith(".whl")
    assert (libs / ("-".join(bundle["wheel"].split("-")[:2]) + ".dist-info") / "RECORD").is_file()
    assert list((libs / "perfsquad" / "data" / "speedups").glob("3.*.json"))

    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "code-server.log").open("w")
    proc = subprocess.Popen(
        [code_server_bin, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override",
         "--config", str(tmp_path / "code-server.yaml"), *common, str(workspace)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, f"code-server exited: {(ARTIFACTS / 'code-server.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "code-server did not answer /healthz within 120 s"
            time.sleep(0.5)
        yield {
            "url": f"http://127.0.0.1:{port}/?folder={workspace}",
            "workspace": workspace,
            "extensions": extensions,
            "data": data,
            "env": env,
        }
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        log.close()
        logs = ARTIFACTS / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        if (data / "logs").is_dir():
            shutil.copytree(data / "logs", logs)


def run_driver(script: str, code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path, **extra: str) -> dict[str, object]:
    """Run a driver of tests/editors/vscode/ against the code-server fixture; its JSON result (kept in
    ARTIFACTS too), failing with its errors and stderr when it failed."""
    name = Path(script).stem
    result_file = tmp_path / f"{name}-result.json"
    env = dict(code_server["env"])  # type: ignore[call-overload]
    env.update(
        PLAYWRIGHT_CORE=str(e2e_prefix / "node_modules" / "playwright-core"),
        URL=str(code_server["url"]),
        ARTIFACTS=str(ARTIFACTS),
        RESULT=str(result_file),
        **extra,
    )
    started = time.monotonic()
    drive = subprocess.run(
        ["node", str(ROOT / "tests" / "editors" / "vscode" / script)], env=env, capture_output=True, text=True, timeout=900
    )
    elapsed = time.monotonic() - started
    result = json.loads(result_file.read_text()) if result_file.exists() else {"steps": [], "errors": [drive.stderr]}
    (ARTIFACTS / f"{name}-result.json").write_text(json.dumps(result, indent=2))
    assert not result["errors"], f"driver failed after {elapsed:.0f} s: {result['errors']}\n{drive.stderr[-3000:]}"
    assert drive.returncode == 0, drive.stderr[-3000:]
    result["elapsed"] = elapsed
    return dict(result)


def _step(result: dict[str, object], name: str) -> dict[str, object]:
    steps = result["steps"]
    assert isinstance(steps, list)
    found = [s for s in steps if s["name"] == name]
    assert found, f"step {name!r} not reached; steps: {[s['name'] for s in steps]}; errors: {result['errors']}"
    return dict(found[0])


def _drive(code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path, scenario: str = "") -> dict[str, Any]:
    """Run tests/editors/vscode/drive.js (``scenario``: its SCENARIO, "" for the whole tour) against the
    code-server; returns what it observed (steps and errors), also kept in the artifacts."""
    workspace = code_server["workspace"]
    assert isinstance(workspace, Path)
    seeded = workspace / "slow.py"
    env = dict(code_server["env"])  # type: ignore[call-overload]
    result = run_driver(
        "drive.js", code_server, e2e_prefix, tmp_path,
        FILE="slow.py", PROFILE_FILE="work.py", FILE_PATH=str(seeded), EXT_MARK=str(code_server["extensions"]),
        WORKSPACE_SETTINGS=str(workspace / ".vscode" / "settings.json"),
        PY3_PATH=str(shutil.which("python3", path=env["PATH"])),
        SCENARIO=scenario,
    )  # fmt: skip
    print(f"real VS Code drive{' (' + scenario + ')' if scenario else ''}: {float(result['elapsed']):.0f} s")  # type: ignore[arg-type]
    return result


def test_real_vscode(code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path) -> None:
    result = _drive(code_server, e2e_prefix, tmp_path)

    # The diagnostic: a squiggle in the editor and its entries in the Problems panel.
    assert int(_step(result, "squiggle shown")["squiggles"]) >= 1  # type: ignore[call-overload]
    problems = "\n".join(_step(result, "problems listed")["problems"])  # type: ignore[arg-type]
    assert "IDM006" in problems and "`.keys()` is redundant" in problems
    assert "IDM013" in problems

    # The hover: the rule, and the speedup measured for its fix.
    hover = str(_step(result, "hover shown")["hover"])
    assert "IDM006" in hover
    assert re.search(r"Speedup.*\d(\.\d)?x faster", hover, re.DOTALL), hover

    # The quick fix, chosen by its label, applied and saved: the file on disk is fixed, only there.
    actions = _step(result, "quick fixes offered")["actions"]
    assert any("Fix IDM006: Remove `.keys()`" in a for a in actions), actions  # type: ignore[union-attr]
    after_quick_fix = str(_step(result, "quick fix applied and saved")["disk"])
    assert "return name in users\n" in after_quick_fix
    assert "map(lambda v: v * 2, values)" in after_quick_fix  # the other finding is untouched

    # Palette command "perfsquad: Fix All Safe Findings in File": the remaining safe fix, saved.
    after_fix_all = str(_step(result, "fix all applied and saved")["disk"])
    assert "return [v * 2 for v in values]" in after_fix_all
    compile(after_fix_all, "slow.py", "exec")
    assert after_fix_all.startswith('"""Seeded for the VS Code test."""\n')

    # Palette command "perfsquad: Restart Server": a new server process (running the server bundled
    # in the installed extension: its PYTHONPATH names the extensions folder), which publishes again.
    restart = _step(result, "restart ran")
    before, after = restart["pidsBefore"], restart["pidsAfter"]
    assert before and after and not set(before) & set(after)  # type: ignore[arg-type, call-overload]
    assert restart["squigglesBeforeEdit"] == 0
    assert "perfsquad" in str(restart["statusAfter"])

    # Settings: a severity override reaches the running server (same process, the squiggle becomes an
    # error); changing the interpreter setting restarts it.
    severity = _step(result, "severity setting applied")
    assert severity["errorsBefore"] == 0
    assert severity["pidsBeforeSeverity"] == severity["pidsAfterSeverity"]
    restarted = _step(result, "interpreter setting restarted the server")["pidsAfterInterpreter"]
    assert restarted and not set(restarted) & set(severity["pidsAfterSeverity"])  # type: ignore[arg-type, call-overload]

    # "perfsquad: Profile Current File": the profile's headline reaches the status bar, and the
    # server's HOT diagnostics point at the hot code.
    profiled = _step(result, "profile shown")
    assert re.search(r"(CPU|I/O|memory)-bound", str(profiled["status"]), re.IGNORECASE), profiled["status"]
    assert any("HOT00" in p for p in profiled["problems"]), profiled["problems"]  # type: ignore[union-attr]

    # "perfsquad: Show Profile View": the flame graph of that profile (its hot function drawn), the hot
    # functions table, the search, a click that opened the source; line heat was in the gutter first.
    shown = _step(result, "profile view shown")
    assert int(shown["heatIcons"]) >= 1  # type: ignore[call-overload]
    assert any("busy" in label for label in shown["flameLabels"]), shown["flameLabels"]  # type: ignore[union-attr]
    assert any("busy" in row for row in shown["functionRows"]), shown["functionRows"]  # type: ignore[union-attr]
    assert re.match(r"matched: \d+\.\d% of the run", str(shown["matched"])), shown["matched"]
    assert "work.py" in str(shown["openedTab"])
    assert (ARTIFACTS / "10-profile-view.png").stat().st_size > 10_000

    # The screenshot for vscode-client/README.md exists.
    assert (ARTIFACTS / "readme-screenshot.png").stat().st_size > 10_000


_RANK = {"info": 0, "warning": 1, "error": 2}


def _entries(rows: object) -> list[tuple[str, int, str]]:
    """(code, line, severity) of each Problems entry read by drive.js's problemsOf."""
    assert isinstance(rows, list)
    out = []
    for row in rows:
        code = re.search(r"perfsquad\s*\(?([A-Z]+\d{3})\b", row["text"])  # "perfsquad(VEC006)", its link text spaced
        line = re.search(r"Ln (\d+)", row["text"])
        assert code and line and row["severity"] in _RANK, row
        out.append((code.group(1), int(line.group(1)), row["severity"]))
    return sorted(out)


def test_real_vscode_a_profile_adds_and_a_failed_one_changes_nothing(
    code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path
) -> None:
    """In real VS Code, on the demo: "Profile Current File" on run.py keeps every finding of
    memoria/similarity.py listed (and adds the measured hot lines); the hot all-pairs loop (VEC006)
    is raised, the dot product on lists (VEC001, whose rewrite was measured slower there) is not.
    Then a profile of a script that cannot start shows an error naming the reason and changes no
    finding."""
    workspace = code_server["workspace"]
    assert isinstance(workspace, Path)
    shutil.copy(ROOT / "demo" / "run.py", workspace / "run.py")
    shutil.copytree(ROOT / "demo" / "memoria", workspace / "memoria")
    (workspace / "broken.py").write_text("import no_such_module_for_perfsquad\n", encoding="utf-8")
    result = _drive(code_server, e2e_prefix, tmp_path, "truth")
    before = _entries(_step(result, "problems before the profile")["rows"])
    profiled = _step(result, "problems after the profile")
    assert re.search(r"(CPU|I/O|memory)-bound", str(profiled["status"]), re.IGNORECASE), profiled["status"]
    after = _entries(profiled["rows"])
    # A profile adds, never hides: every static finding is still listed, and hot lines are added.
    assert {(c, n) for c, n, _ in before} <= {(c, n) for c, n, _ in after}, (before, after)
    assert any(c.startswith("HOT") for c, _, _ in after), after
    severity_before = {(c, n): s for c, n, s in before}
    vec006 = [(n, severity_before[(c, n)], s) for c, n, s in after if c == "VEC006"]
    assert any(s == "error" and _RANK[s] > _RANK[old] for _, old, s in vec006), vec006  # the hot one raised
    vec001 = [(n, severity_before[(c, n)], s) for c, n, s in after if c == "VEC001"]
    assert vec001 and all(_RANK[s] <= _RANK[old] for _, old, s in vec001), vec001  # measured slower: not raised
    # A profile that fails: an error with its reason, and nothing changed.
    failed = _step(result, "problems after a failed profile")
    assert "no_such_module_for_perfsquad" in str(failed["toast"]), failed["toast"]
    assert "_child.py" not in str(failed["toast"]), failed["toast"]  # the script's traceback, not the runner's
    assert int(failed["errorIcon"]) >= 1, failed  # type: ignore[call-overload]
    assert _entries(failed["rows"]) == after
    assert (ARTIFACTS / "15-truth-failed.png").stat().st_size > 10_000


def test_real_vscode_roadmap_view(code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path) -> None:
    """After "Profile Current File", "perfsquad: Optimization Roadmap" from the palette opens a rendered
    view (a webview, not Markdown in a code block) ranked with that profile, every row's place a link to
    its file and line; clicking one opens the source with the cursor on that line."""
    result = _drive(code_server, e2e_prefix, tmp_path, "roadmap")
    workspace = code_server["workspace"]
    assert isinstance(workspace, Path)
    assert re.search(r"(CPU|I/O|memory)-bound", str(_step(result, "profiled")["status"]), re.IGNORECASE)
    shown = _step(result, "roadmap view shown")
    assert str(shown["heading"]).startswith("perfsquad optimization roadmap")
    assert "time at stake" in str(shown["basis"])  # ranked with the loaded profile, not "No profile"
    rows = shown["rows"]
    assert isinstance(rows, list) and rows
    for row in rows:  # every item linked to its place
        assert row["file"] and Path(row["file"]).parent == workspace.resolve(), row
        assert row["href"] == f"{Path(row['file']).as_uri()}#L{row['line']}", row
        assert f"{Path(row['file']).name}:{row['line']}" in row["text"], row
    # The profiled script's hot function, which no rule explains, is on the roadmap (it was measured).
    hot = [r for r in rows if r["code"].startswith("HOT") and r["file"].endswith("work.py")]
    assert hot, rows
    clicked = shown["clicked"]
    assert isinstance(clicked, dict) and str(shown["openedTab"]).startswith(Path(clicked["file"]).name)
    assert re.match(rf"Ln {clicked['line']}, Col \d+", str(shown["cursor"])), shown["cursor"]
    # Readable on the editor's theme: the page's text and background are the theme's, and differ.
    colors = shown["colors"]
    assert isinstance(colors, dict) and "vscode-light" in colors["classes"] and colors["color"] != colors["background"]
    assert (ARTIFACTS / "11-roadmap-view.png").stat().st_size > 10_000
    # ... and on a dark theme: light text on a dark background, links still coloured as links.
    dark = _step(result, "roadmap view on a dark theme")["colors"]
    assert isinstance(dark, dict) and _luminance(dark["color"]) > 0.5 > _luminance(dark["background"]), dark
    assert _luminance(dark["link"]) > 0.3 and dark["link"] != dark["color"], dark
    assert (ARTIFACTS / "12-roadmap-view-dark.png").stat().st_size > 10_000

    # "perfsquad: Audit Performance" after the profile: ranked with that profile (nothing run, no
    # "No profile"), the same kind of view, every row linked.
    audit = _step(result, "audit view shown")
    notes = " ".join(audit["notes"])  # type: ignore[arg-type]
    assert "Ranked with the loaded profile of" in notes and "No profile" not in notes, notes
    audit_rows = audit["rows"]
    assert isinstance(audit_rows, list) and audit_rows and all(r["file"] and r["line"] > 0 for r in audit_rows)
    assert [(r["code"], r["line"]) for r in audit_rows] == [(r["code"], r["line"]) for r in rows]  # one ranking


def _luminance(css: str) -> float:
    """0 (black) to 1 (white): the relative brightness of a computed CSS colour `rgb(r, g, b)`."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
