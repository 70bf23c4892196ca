#!/usr/bin/env bash
# Install everything the test suite needs, then run linters, type checks and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
bash scripts/setup-editors.sh  # Neovim and Emacs + eglot for tests/editors/test_editors.py
bash scripts/setup-chromium.sh  # headless Chromium for tests/cli/test_audit_report.py
bash scripts/setup-vscode-tests.sh >/dev/null  # code-server + playwright-core for tests/editors/test_vscode.py
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff =="
ruff check perfsquad tests bench scripts
echo "== mypy =="
mypy
echo "== import layers =="
lint-imports  # the layer contracts in pyproject.toml ([tool.importlinter])
echo "== pytest =="
python -m pytest -q -p no:cacheprovider "$@"
