"""How long `perfsquad leakcheck` takes on the demo, and what it says (#20). Prints a table.

Rows (each one `perfsquad leakcheck ...` run as a subprocess from the checkout, wall time measured):

* ``demo/run.py``, default settings: a 4 s workload, checked untraced within the budget (before
  #20 it ran 20 traced iterations, about 17 minutes, and timed out at 120 s);
* ``--callable memoria.cache:embed`` (a fast workload: still the traced method, allocating lines);
* the server's ``perfsquad.leakcheck`` on ``demo/run.py``, without arguments (a plain client: the
  open document) through a stdio client (``bench/lsp_client.py``): the time to its response, and how
  many ``window/showMessage`` notifications came with it.

Run it against another checkout to compare (before/after): ``PYTHONPATH=/other/checkout python
bench/leakcheck_time.py`` (the ``perfsquad`` imported is named in the output; the demo is this
checkout's).

Usage: python bench/leakcheck_time.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> tuple[float, int, dict[str, object] | None, str]:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(ROOT)}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "leakcheck", "--format", "json", *args],
        capture_output=True, text=True, timeout=900, cwd=ROOT / "demo", env=env,  # (not ROOT: `-m` would import it)
    )  # fmt: skip
    wall = time.monotonic() - start
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    return wall, proc.returncode, data, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    env_path = os.environ.get("PYTHONPATH") or str(ROOT)
    print(f"perfsquad from {env_path}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
    rows = [
        ("demo/run.py, default", ["run.py"]),
        ("embed callable (fast workload)", ["--callable", "memoria.cache:embed", "--", "text"]),
    ]
    print(f"{'run':<42} {'wall s':>7} {'exit':>4} {'method':>9} {'iterations':>10} {'growth B/it':>12}  result")
    for name, args in rows:
        wall, code, data, last = run(args)
        if data is None:
            print(f"{name:<42} {wall:7.1f} {code:>4} {'-':>9} {'-':>10} {'-':>12}  {last}")
            continue
        top = data["top"][0] if data.get("top") else None  # type: ignore[index]
        where = ""
        if isinstance(top, dict):
            where = f"{Path(str(top['file'])).name}:{top['line']} {top.get('holder') or top.get('function') or ''}"
        print(
            f"{name:<42} {wall:7.1f} {code:>4} {data.get('method', 'traced'):>9} {data['iterations']:>10}"
            f" {float(data['growth_per_iteration']):>12,.0f}  {data['verdict']}; top: {where}"  # type: ignore[arg-type]
        )
    server_row()
    return 0


def server_row() -> None:
    """The server command, as a plain client sends it, timed to its response."""
    sys.path.insert(0, str(ROOT / "bench"))
    from lsp_client import LspClient, LspError

    env_path = os.environ.get("PYTHONPATH") or str(ROOT)
    os.environ["PYTHONPATH"] = env_path
    demo = ROOT / "demo"
    client = LspClient([sys.executable, "-m", "perfsquad", "serve"], demo)
    try:
        client.initialize(demo, options={"workspaceTrusted": True})
        run_py = demo / "run.py"
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": run_py.as_uri(), "languageId": "python", "version": 1, "text": run_py.read_text(encoding="utf-8")}})  # fmt: skip
        client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics", 60)
        since = client.cursor()
        start = time.monotonic()
        try:
            result = client.request("workspace/executeCommand", {"command": "perfsquad.leakcheck"}, timeout=600)
            outcome = f"{result.get('verdict')} ({result.get('method', 'traced')})"
        except LspError as exc:
            outcome = f"error: {str(exc)[:150]}"
        wall = time.monotonic() - start
        time.sleep(0.5)  # (a message sent after the response would count too)
        shown = [m.body["params"]["message"] for m in client._messages[since:]
                 if m.body.get("method") == "window/showMessage"]  # fmt: skip
        print(f"{'server perfsquad.leakcheck, no arguments':<42} {wall:7.1f} {'-':>4}  {outcome}; "
              f"{len(shown)} showMessage: {[s[:110] for s in shown]}")  # fmt: skip
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
