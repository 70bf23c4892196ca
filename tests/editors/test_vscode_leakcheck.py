"""Leak Check in a real VS Code (code-server 4.100.3), separately from ``test_vscode.py`` so it can run
alone: ``pytest tests/editors/test_vscode_leakcheck.py``.

Issue #20: "Leak Check on `demo/run.py` always times out at 120 s, cannot be cancelled, shows two toasts
and a traceback". The driver (``vscode/drive_leakcheck.js``) opens the demo's ``run.py``, runs
"perfsquad: Leak Check" from the palette, waits for the result's notification and counts the
notifications, then opens ``memoria/cache.py`` where the holder of the leak gets a HOT004 problem.
Screenshots go to tests/editors/vscode/artifacts/ (``leak-*.png``).

It reuses the code-server, .vsix and install fixtures of ``test_vscode.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support import DEMO
from test_vscode import ARTIFACTS, _step, code_server, e2e_prefix, run_driver, vsix  # noqa: F401 (fixtures)


def test_vscode_leak_check_of_the_demo(code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path) -> None:  # noqa: F811
    workspace = code_server["workspace"]
    assert isinstance(workspace, Path)
    shutil.copytree(DEMO, workspace, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    defined = next(
        i for i, line in enumerate((workspace / "memoria" / "cache.py").read_text().splitlines(), 1)
        if "_EMBED_CACHE: dict" in line
    )  # fmt: skip
    result = run_driver("drive_leakcheck.js", code_server, e2e_prefix, tmp_path)
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]

    # While it runs: the server's progress notification (with its Cancel button).
    running = _step(result, "leak check running")["toasts"]
    assert any("leak check" in t.lower() for t in running), running  # type: ignore[union-attr]
    # The result: one notification, readable (verdict, growth per iteration, file:line of the holder).
    shown = _step(result, "leak check result shown")
    toast = str(shown["toast"])
    assert "perfsquad: leak check of run.py: LEAKS" in toast and "per iteration" in toast, toast
    assert f"memoria/cache.py:{defined} memoria.cache._EMBED_CACHE" in toast, toast
    toasts = [str(t) for t in shown["toasts"]]  # type: ignore[union-attr]
    about_it = [t for t in toasts if "leak check" in t.lower()]
    assert len(about_it) == 1, toasts  # not the result and a second "Leak Check done" toast
    assert not [t for t in toasts if "Traceback" in t or "failed" in t.lower()], toasts
    assert (ARTIFACTS / "leak-03-result.png").stat().st_size > 10_000
    # The holder's definition line has the HOT004 problem.
    problems = "\n".join(_step(result, "leak problem listed")["problems"])  # type: ignore[arg-type]
    assert "HOT004" in problems and "_EMBED_CACHE" in problems, problems
    print(f"real VS Code leak check: {shown['seconds']:.0f} s from the palette to the result; drive {elapsed:.0f} s")
