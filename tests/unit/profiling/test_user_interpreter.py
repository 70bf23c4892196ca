"""The interpreter that runs the user's code is the user's, never perfsquad's own environment
unless nothing else exists (#18: one interpreter for every command that runs user code)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from perfsquad.profiling.target import command_for, user_interpreter


def _fake_python(folder: Path, name: str = "python3") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


def test_the_setting_wins_unless_it_is_a_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert user_interpreter("/opt/py/bin/python3.12") == ("/opt/py/bin/python3.12", "the python setting")
    onpath = _fake_python(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(onpath.parent))
    assert user_interpreter("3.12") == (str(onpath), "`python3` on PATH")  # a version picks a table, not a program


def test_an_active_virtual_environment_then_path_then_our_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    exe = _fake_python(venv / "bin", "python")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PATH", str(_fake_python(tmp_path / "other").parent))
    assert user_interpreter(None) == (str(exe), "the active virtual environment")
    monkeypatch.delenv("VIRTUAL_ENV")
    assert user_interpreter(None)[0] == str(tmp_path / "other" / "python3")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert user_interpreter(None) == (sys.executable, "perfsquad's own interpreter (no other Python found)")


def test_a_script_target_runs_in_the_users_interpreter_and_a_python_command_names_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    onpath = _fake_python(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(onpath.parent) + os.pathsep + os.environ.get("PATH", ""))
    assert command_for("app.py").python == str(onpath)
    assert command_for("app.py", "/srv/py/bin/python").python == "/srv/py/bin/python"
    assert command_for("python3.12 app.py", "/srv/py/bin/python").python == "python3.12"
