#!/usr/bin/env bash
# The main job: install perfsquad, then audit and profile the bundled demo project (demo/) and print
# a readable report. Writes the full audit report (HTML, Markdown, JSON) under .perfsquad/audit/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

section() { printf '\n\033[1m== %s ==\033[0m\n' "$1"; }

section "1/3 Static findings: perfsquad check demo"
perfsquad check demo --no-cache || true  # exit 1 means "findings": expected on the demo

section "2/3 Where the time goes: perfsquad profile -- python demo/run.py"
perfsquad profile --out .perfsquad/profile.json -- python demo/run.py

section "3/3 Static findings ranked by measured time, and the roadmap: perfsquad audit"
perfsquad audit demo --run "python demo/run.py" --out .perfsquad/audit

echo
echo "Full report: $PWD/.perfsquad/audit/report.html (open it in a browser; it works offline)"
echo "Rank findings by the profile any time: perfsquad check --profile .perfsquad/profile.json demo"
