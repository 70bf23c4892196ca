#!/usr/bin/env bash
# Install Debian's Chromium for tests/cli/test_audit_report.py (renders the audit report headless and
# saves a screenshot). Idempotent: when chromium is already on PATH it only returns.
# Usage: scripts/setup-chromium.sh   (called by scripts/test.sh)
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-chromium: chromium is missing and there is no apt-get; install Chromium by hand" >&2
    exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
echo "setup-chromium: installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
