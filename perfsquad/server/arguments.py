"""Reading ``workspace/executeCommand`` arguments, shared by the command extensions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def unwrap(args: Sequence[Any]) -> Sequence[Any]:
    """The arguments, unwrapped once when a client sent them as one list."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]  # some clients wrap the arguments once more
    return args


def int_option(opts: dict[str, Any], key: str, default: int, minimum: int, command: str) -> int:
    """``opts[key]`` (or ``default``) as an integer of at least ``minimum`` (``True`` is not one)."""
    value = opts.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{command}: {key} must be an integer >= {minimum}")
    return value
