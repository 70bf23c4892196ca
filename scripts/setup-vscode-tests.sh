#!/usr/bin/env bash
# Install what tests/editors/test_vscode.py needs to drive a real VS Code headless:
#   - Debian chromium (the browser), libkrb5-dev + pkg-config (code-server's native build), ripgrep;
#   - code-server 4.100.3 (VS Code 1.100.3, the newest that runs on Node 20) and playwright-core,
#     from npm, into the git-ignored folder .e2e/vscode/.
# Offline workarounds (see /work/shared/platform-notes.md):
#   - code-server's postinstall runs as root: npm_config_unsafe_perm=true;
#   - its @vscode/ripgrep step downloads a binary from GitHub: we pre-seed that download cache with
#     Debian's rg, packed the way it expects;
#   - its install scripts call npx: npm_config_yes=true answers "yes";
#   - node-gyp needs headers: npm_config_nodedir=/usr (Debian's node ships them).
# Idempotent: a stamp file makes reruns take a second. Prints the install folder on success.
# Usage: scripts/setup-vscode-tests.sh   (called by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
PREFIX="$PWD/.e2e/vscode"
STAMP="$PREFIX/.installed-code-server-$CODE_SERVER_VERSION-playwright-$PLAYWRIGHT_VERSION"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup-vscode-tests: missing ${need_apt[*]} and there is no apt-get; install them by hand" >&2
        exit 1
    fi
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi
    echo "setup-vscode-tests: installing ${need_apt[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null; then
        "${sudo_cmd[@]}" apt-get update -qq >/dev/null
        "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    fi
fi

if [ -f "$STAMP" ] && [ -x "$PREFIX/node_modules/.bin/code-server" ] && [ -d "$PREFIX/node_modules/playwright-core" ]; then
    echo "$PREFIX"
    exit 0
fi

# Pre-seed @vscode/ripgrep's download cache (it looks in the OS temp dir) with Debian's rg.
cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$tarball" ]; then
    tar czf "$tarball" -C "$(dirname "$(command -v rg)")" rg
fi

mkdir -p "$PREFIX"
if [ ! -f "$PREFIX/package.json" ]; then
    printf '{\n  "name": "perfsquad-e2e-vscode",\n  "private": true\n}\n' >"$PREFIX/package.json"
fi
echo "setup-vscode-tests: installing code-server@$CODE_SERVER_VERSION and playwright-core@$PLAYWRIGHT_VERSION into $PREFIX (a few minutes, once)" >&2
npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >&2
if [ ! -x "$PREFIX/node_modules/.bin/code-server" ]; then
    echo "setup-vscode-tests: code-server did not install ($PREFIX/node_modules/.bin/code-server missing)" >&2
    exit 1
fi
touch "$STAMP"
echo "$PREFIX"
