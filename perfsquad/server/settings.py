"""Server settings: LSP options merged over the workspace's ``[tool.perfsquad]``, failing softly.

Editor settings (``initializationOptions`` or ``workspace/didChangeConfiguration`` under the key
``perfsquad``) use the same keys as ``[tool.perfsquad]``, in kebab-, snake- or camelCase; they win
over the pyproject's values key by key. Server-only keys (``debounceMs``, ``profileFocus``,
``leakcheck.timeoutSeconds`` also spelled ``leakcheckTimeoutSeconds``) are taken out first.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfsquad.config import Config, config_from_mapping, find_pyproject

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_DEBOUNCE_MS = 150
DEFAULT_LEAKCHECK_TIMEOUT_S = 120.0
_SERVER_KEYS = {"debounce-ms", "profile-focus", "workspace-trusted", "token", "leakcheck", "leakcheck-timeout-seconds"}
"""Server-only keys: ``profileFocus`` (dims cold findings after a profile), ``workspaceTrusted``
(perfsquad.server.consent) and ``token`` (perfsquad.server.tcp) are read where they matter and never
reach the rule settings."""


def _kebab(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", str(key)).replace("_", "-").lower()


@dataclass(frozen=True)
class ServerOptions:
    """What the editor told us: the rule settings (a mapping) and the server's own knobs."""

    rules: dict[str, Any] = field(default_factory=dict)
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    warnings: tuple[str, ...] = ()
    profile_focus: bool = False
    """With a profile loaded, dim (hint) the findings in code the run never reached (opt-in)."""
    leakcheck_timeout: float = DEFAULT_LEAKCHECK_TIMEOUT_S
    """Seconds before ``perfsquad.leakcheck`` stops its workload (``leakcheck.timeoutSeconds``)."""


def parse_options(raw: Any) -> ServerOptions:
    """Split editor settings into rule settings and server options; bad values become warnings."""
    if raw is None:
        return ServerOptions()
    if not isinstance(raw, dict):
        return ServerOptions(warnings=("perfsquad: editor settings must be an object; using defaults",))
    if isinstance(raw.get("perfsquad"), dict):  # settings given with their section
        raw = raw["perfsquad"]
    normalized = {_kebab(k): v for k, v in raw.items()}
    warnings: list[str] = []
    debounce = DEFAULT_DEBOUNCE_MS
    if "debounce-ms" in normalized:
        value = normalized["debounce-ms"]
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 60_000:
            debounce = int(value)
        else:
            warnings.append(
                f"perfsquad: `debounceMs` must be a number of milliseconds, not {value!r}; using {debounce}"
            )
    focus = normalized.get("profile-focus", False)
    if not isinstance(focus, bool):
        warnings.append(f"perfsquad: `profileFocus` must be true or false, not {focus!r}; using false")
        focus = False
    timeout = DEFAULT_LEAKCHECK_TIMEOUT_S
    nested = normalized.get("leakcheck")
    value = nested.get("timeoutSeconds", nested.get("timeout-seconds")) if isinstance(nested, dict) else None
    value = normalized.get("leakcheck-timeout-seconds", value)
    if value is not None:
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 86_400:
            timeout = float(value)
        else:
            warnings.append(
                f"perfsquad: `leakcheck.timeoutSeconds` must be a number of seconds, not {value!r}; using {timeout:g}"
            )
    rules = {k: v for k, v in normalized.items() if k not in _SERVER_KEYS}
    return ServerOptions(rules, debounce, tuple(warnings), focus, timeout)


def settings_section(raw: Any) -> Any:
    """The ``perfsquad`` section of ``workspace/didChangeConfiguration`` settings (None if absent)."""
    return raw.get("perfsquad") if isinstance(raw, dict) else None


@dataclass(frozen=True)
class ProjectTable:
    """The ``[tool.perfsquad]`` table that applies to a directory (empty when there is none)."""

    table: dict[str, Any]
    pyproject: Path | None
    warnings: tuple[str, ...] = ()


def read_project_table(directory: Path, root: Path | None = None) -> ProjectTable:
    """The table for ``directory``, from a pyproject.toml no higher than ``root`` (the workspace folder)."""
    pyproject = find_pyproject(directory, root)
    if pyproject is None:
        return ProjectTable({}, None)
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return ProjectTable({}, pyproject, (f"perfsquad: cannot read {pyproject}: {exc}; using defaults",))
    tool = data.get("tool")
    table = tool.get("perfsquad") if isinstance(tool, dict) else None
    if table is None:
        return ProjectTable({}, pyproject)
    if not isinstance(table, dict):
        return ProjectTable(
            {}, pyproject, (f"perfsquad: [tool.perfsquad] in {pyproject} must be a table; using defaults",)
        )
    return ProjectTable({_kebab(k): v for k, v in table.items()}, pyproject)


def effective_config(project: ProjectTable, options: ServerOptions) -> Config:
    """Editor settings merged key by key over the project's table, as one Config."""
    merged = {**project.table, **options.rules}
    source = f"{project.pyproject} and editor settings" if project.pyproject else "editor settings"
    config = config_from_mapping(merged, source, project.pyproject.parent if project.pyproject else None)
    warnings = (*project.warnings, *options.warnings, *config.warnings)
    trusted = "python" in options.rules or project.pyproject is None  # (the editor's own setting may be run)
    return replace(config, warnings=warnings, python_trusted=trusted)
