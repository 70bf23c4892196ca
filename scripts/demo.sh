#!/usr/bin/env bash
# The main job: install perfsquad, then audit the bundled demo project and print a readable report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== perfsquad check demo/ (static findings) =="
perfsquad check demo --no-cache || true
