#!/usr/bin/env bash
# Build the VS Code extension: vscode-client/perfsquad-<version>.vsix, offline but for the registries.
#   1. npm ci (exact versions from vscode-client/package-lock.json; skipped when node_modules is current)
#   2. type-check (tsc) and bundle (esbuild) into vscode-client/dist/extension.js
#   3. bundle the Python server into vscode-client/bundled/libs (the extension runs it with
#      PYTHONPATH: the useBundled strategy): perfsquad's dependencies with `pip install --target`
#      (cached per dependency list and Python version in vscode-client/.bundle-cache/), and perfsquad
#      itself from its wheel, built fresh (`pip wheel` of a clean copy of the sources: what ships is
#      what pyproject.toml's package data says, as for a user's `pip install`; the wheel is kept in
#      dist/). Compiled parts (libcst) are for the Python that builds: PYTHON=python3.X picks another one.
#   4. `vsce package --no-dependencies` (the bundle has everything; nothing is fetched)
# Usage: bash scripts/build-vsix.sh        Prints the path of the .vsix.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
cd vscode-client

# 1. Node dependencies.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "build-vsix: [${SECONDS}s] npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

# 2. Type-check and bundle the TypeScript.
echo "build-vsix: [${SECONDS}s] type-check and bundle" >&2
node_modules/.bin/tsc -p . --noEmit
rm -rf dist
node esbuild.mjs --production

# 3. The Python server and its libraries.
pyver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
reqs="$(cd "$ROOT" && "$PY" -c '
try:
    import tomllib
except ImportError:
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
')"
deps_key="$(printf '%s\n%s\n' "$pyver" "$reqs" | sha256sum | cut -c1-16)"
deps=".bundle-cache/deps-$deps_key"
if [ ! -f "$deps/.complete" ]; then
    echo "build-vsix: [${SECONDS}s] pip install --target: perfsquad's dependencies for Python $pyver" >&2
    rm -rf .bundle-cache
    mkdir -p "$deps"
    printf '%s\n' "$reqs" > "$deps.txt"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-compile --only-binary=:all: \
        --target "$deps" -r "$deps.txt" >&2
    # bin/: keep native executables (py-spy, put on PATH by the extension); drop console scripts,
    # whose shebang names the build machine's Python.
    if [ -d "$deps/bin" ]; then
        for f in "$deps"/bin/*; do
            if [ "$(head -c 2 "$f")" = "#!" ]; then rm -f "$f"; fi
        done
    fi
    touch "$deps/.complete"
fi
echo "build-vsix: [${SECONDS}s] the perfsquad wheel" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
# A clean copy: an in-tree build would reuse build/lib, where a module deleted since stays.
(cd "$ROOT" && tar cf - --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md perfsquad) | tar xf - -C "$work/src"
"$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$work/dist" "$work/src" >&2
wheel="$(ls "$work"/dist/perfsquad-*.whl)"
mkdir -p "$ROOT/dist"
cp "$wheel" "$ROOT/dist/"
# The wheel installed alone (no dependencies: they are the cached ones), without its console script.
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --target "$work/site" "$wheel" >&2
rm -rf "$work/site/bin"

echo "build-vsix: [${SECONDS}s] bundled/libs: the cached dependencies + perfsquad from $(basename "$wheel")" >&2
rm -rf bundled
mkdir -p bundled
cp -al "$deps" bundled/libs  # hard links: fast, and the cache is never modified
rm -f bundled/libs/.complete
cp -a "$work"/site/. bundled/libs/
printf '{"python": "%s", "platform": "%s-%s", "wheel": "%s"}\n' "$pyver" "$(uname -s | tr '[:upper:]' '[:lower:]')" \
    "$(uname -m)" "$(basename "$wheel")" > bundled/libs/perfsquad-bundle.json

# 4. Package.
echo "build-vsix: [${SECONDS}s] vsce package" >&2
version="$(node -p 'require("./package.json").version')"
out="perfsquad-$version.vsix"
rm -f "$out"
# The secret scan is skipped: it takes minutes on the ~6,000 files of third-party libraries in
# bundled/libs (pip-installed from PyPI), and the client's own sources are a few TypeScript files.
node_modules/.bin/vsce package --no-dependencies --allow-package-all-secrets --allow-package-env-file \
    --out "$out" >&2
echo "build-vsix: [${SECONDS}s] done" >&2
echo "$PWD/$out"
