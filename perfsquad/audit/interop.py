"""Benchmark files other tools write, read as :class:`~perfsquad.audit.bench.BenchRecord` so
``perfsquad compare`` applies the same statistics to them, and perfsquad's records written in
pyperf's format.

* **pyperf** (``python -m pyperf timeit/command -o FILE``, ``Runner`` scripts; plain or gzip JSON):
  ``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata": {...}, "runs": [{"metadata":
  {...}, "warmups": [[loops, value], ...], "values": [...]}]}]}``. The values of every run (warm-ups
  excluded) are one benchmark's sample, in seconds per loop; metadata of the file are common to its
  benchmarks, a benchmark's own override them. Only time benchmarks (``unit`` ``second``) compare.
* **pytest-benchmark** (``--benchmark-json=FILE``, ``--benchmark-autosave`` files under
  ``.benchmarks/``): ``{"machine_info": {...}, "benchmarks": [{"name", "fullname", "stats": {"min",
  "max", "mean", "stddev", "rounds", "data"?: [...]}}], "datetime", "version"}``. With
  ``--benchmark-save-data`` the ``data`` list is the sample; without it the file keeps only
  ``rounds``, ``mean``, ``stddev``, ``min`` and ``max``, which are exactly what Welch's test reads
  (:class:`~perfsquad.audit.stats.Summary`).
"""

from __future__ import annotations

import platform
import shlex
from typing import Any

from perfsquad.audit.bench import BenchError, BenchRecord
from perfsquad.audit.stats import Summary

PYPERF_VERSION = "1.0"


def records_from_json(data: Any, source: str) -> list[BenchRecord]:
    """The benchmarks of a pyperf or pytest-benchmark file (told apart by their keys)."""
    if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
        if "machine_info" in data or any(isinstance(b, dict) and "stats" in b for b in data["benchmarks"]):
            return _pytest_benchmark(data, source)
        if "version" in data:
            return _pyperf(data, source)
    raise BenchError(f"{source}: not a benchmark record (perfsquad bench, pyperf or pytest-benchmark JSON)")


def _number(value: Any, what: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BenchError(f"{source}: malformed {what} ({value!r})")
    return float(value)


def _pyperf(data: dict[str, Any], source: str) -> list[BenchRecord]:
    common = data.get("metadata") or {}
    if not isinstance(common, dict):
        raise BenchError(f"{source}: malformed pyperf metadata")
    records = []
    for i, bench in enumerate(data["benchmarks"]):
        if not isinstance(bench, dict) or not isinstance(bench.get("runs"), list):
            raise BenchError(f"{source}: malformed pyperf benchmark #{i + 1}")
        meta = {**common, **(bench.get("metadata") or {})}
        name = str(meta.get("name") or f"benchmark-{i + 1}")
        unit = meta.get("unit", "second")
        if unit != "second":
            raise BenchError(f"{source}: {name} measures {unit}s, not time: perfsquad compares timings")
        values: list[float] = []
        created = ""
        for run in bench["runs"]:
            if not isinstance(run, dict):
                raise BenchError(f"{source}: malformed pyperf run in {name}")
            run_meta = run.get("metadata") or {}
            created = created or str(run_meta.get("date", ""))
            values.extend(_number(v, f"value in {name}", source) for v in run.get("values") or ())
        if not values:
            raise BenchError(f"{source}: {name} has no measured values (only calibration or warm-up runs)")
        command = meta.get("command")
        records.append(
            BenchRecord(
                name=name,
                command=tuple(shlex.split(command)) if isinstance(command, str) else (name,),
                cwd=str(meta.get("perfsquad_cwd", "")),
                runs=tuple(values),
                warmup=int(meta.get("perfsquad_warmup", 0))
                or sum(len(r.get("warmups") or ()) for r in bench["runs"] if isinstance(r, dict)),
                timeout=float(meta.get("perfsquad_timeout", 0.0)),
                created=created,
                python=str(meta.get("python_version", "")).split(" ")[0],
                machine=_pyperf_machine(meta),
                origin="pyperf",
            )
        )
    return records


def _pyperf_machine(meta: dict[str, Any]) -> str:
    if meta.get("perfsquad_machine"):
        return str(meta["perfsquad_machine"])
    parts = [str(meta[k]) for k in ("hostname", "platform") if meta.get(k)]
    if meta.get("cpu_count"):
        parts.append(f"{meta['cpu_count']} CPUs")
    return ", ".join(parts)


def _pytest_benchmark(data: dict[str, Any], source: str) -> list[BenchRecord]:
    machine_info = data.get("machine_info") or {}
    python = str(machine_info.get("python_version", "")) if isinstance(machine_info, dict) else ""
    machine = ""
    if isinstance(machine_info, dict):
        cpu = machine_info.get("cpu") or {}
        count = cpu.get("count") if isinstance(cpu, dict) else None
        machine = ", ".join(
            str(x) for x in (machine_info.get("node"), machine_info.get("machine"), count and f"{count} CPUs") if x
        )
    records = []
    for i, bench in enumerate(data["benchmarks"]):
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(stats, dict):
            raise BenchError(f"{source}: malformed pytest-benchmark entry #{i + 1}")
        name = str(bench.get("fullname") or bench.get("name") or f"benchmark-{i + 1}")
        raw = stats.get("data")
        runs: tuple[float, ...] = ()
        summary = None
        if isinstance(raw, list) and raw:
            runs = tuple(_number(v, f"value in {name}", source) for v in raw)
        else:
            summary = Summary(
                n=int(_number(stats.get("rounds"), f"rounds of {name}", source)),
                mean=_number(stats.get("mean"), f"mean of {name}", source),
                std=_number(stats.get("stddev", 0.0), f"stddev of {name}", source),
                min=_number(stats.get("min"), f"min of {name}", source),
                max=_number(stats.get("max"), f"max of {name}", source),
            )
        records.append(
            BenchRecord(
                name=name,
                command=(name,),
                cwd="",
                runs=runs,
                warmup=0,
                timeout=0.0,
                created=str(data.get("datetime", "")),
                python=python,
                machine=machine,
                summary=summary,
                origin="pytest-benchmark",
            )
        )
    return records


def pyperf_json(record: BenchRecord) -> dict[str, Any]:
    """``record`` as a pyperf file (one benchmark, one run per measured run, one loop each) that
    ``python -m pyperf compare_to``/``show``/``stats`` read; perfsquad reads it back unchanged but
    for the profile, which pyperf cannot hold."""
    if not record.runs:
        raise BenchError(f"{record.name}: no individual runs to write in pyperf's format")
    metadata: dict[str, Any] = {
        "name": record.name,
        "unit": "second",
        "loops": 1,
        "command": shlex.join(record.command),
        "python_version": record.python or platform.python_version(),
        "perfsquad_cwd": record.cwd,
        "perfsquad_machine": record.machine,
        "perfsquad_timeout": record.timeout,
        "perfsquad_warmup": record.warmup,
    }
    runs: list[dict[str, Any]] = [{"metadata": {"date": record.created}, "values": [v]} for v in record.runs]
    return {"version": PYPERF_VERSION, "metadata": metadata, "benchmarks": [{"runs": runs}]}
