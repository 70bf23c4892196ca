#!/usr/bin/env bash
# Build the VS Code extension: vscode-client/perfsquad-<version>.vsix, offline but for the registries.
#   1. npm ci (exact versions from vscode-client/package-lock.json; skipped when node_modules is current)
#   2. type-check (tsc) and bundle (esbuild) into vscode-client/dist/extension.js
#   3. bundle the Python server: perfsquad and its dependencies, `pip install --target
#      vscode-client/bundled/libs` (the extension runs them with PYTHONPATH; useBundled strategy).
#      Compiled parts (libcst) are for the Python that builds: PYTHON=python3.X picks another one.
#   4. `vsce package --no-dependencies` (the bundle has everything; nothing is fetched)
# Usage: bash scripts/build-vsix.sh        Prints the path of the .vsix.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
cd vscode-client

# 1. Node dependencies.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "build-vsix: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

# 2. Type-check and bundle the TypeScript.
node_modules/.bin/tsc -p . --noEmit
rm -rf dist
node esbuild.mjs --production

# 3. The Python server and its libraries, rebuilt only when perfsquad's sources or pyproject change.
version="$(node -p 'require("./package.json").version')"
key="$( (cd "$ROOT" && "$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' &&
    cat pyproject.toml && find perfsquad -type f \( -name '*.py' -o -name '*.json' -o -name 'py.typed' \) \
    -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)"
if [ ! -f bundled/.stamp ] || [ "$(cat bundled/.stamp)" != "$key" ]; then
    echo "build-vsix: bundling perfsquad and its libraries with $PY (pip install --target bundled/libs)" >&2
    rm -rf bundled
    mkdir -p bundled/libs
    wheels="$(mktemp -d)"
    trap 'rm -rf "$wheels"' EXIT
    "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$wheels" "$ROOT" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check --no-compile --only-binary=:all: \
        --target bundled/libs "$wheels"/perfsquad-*.whl >&2
    # bin/: keep native executables (py-spy, put on PATH by the extension); drop console scripts,
    # whose shebang names the build machine's Python.
    if [ -d bundled/libs/bin ]; then
        for f in bundled/libs/bin/*; do
            if [ "$(head -c 2 "$f")" = "#!" ]; then rm -f "$f"; fi
        done
    fi
    "$PY" - <<'EOF'
import json, platform, sys
info = {"python": "%d.%d" % sys.version_info[:2], "platform": f"{sys.platform}-{platform.machine()}"}
with open("bundled/libs/perfsquad-bundle.json", "w") as f:
    json.dump(info, f)
EOF
    echo "$key" > bundled/.stamp
fi

# 4. Package.
out="perfsquad-$version.vsix"
rm -f "$out"
# The secret scan is skipped: it takes minutes on the ~6,000 files of third-party libraries in
# bundled/libs (pip-installed from PyPI), and the client's own sources are a few TypeScript files.
node_modules/.bin/vsce package --no-dependencies --allow-package-all-secrets --allow-package-env-file \
    --out "$out" >&2
echo "$PWD/$out"
