#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install perfsquad into it.
# Usage: scripts/bootstrap.sh [EXTRAS]   e.g. scripts/bootstrap.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=".venv/.perfsquad-installed-${1:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
    if [ -n "${1:-}" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$1]"
    else
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
    fi
    touch "$stamp"
fi
# Byte-compile perfsquad like a wheel install does (the editable install leaves that to the first
# import, which PYTHONDONTWRITEBYTECODE=1 turns into a compile on every start): checks mtimes, cheap.
.venv/bin/python -m compileall -q perfsquad >/dev/null
