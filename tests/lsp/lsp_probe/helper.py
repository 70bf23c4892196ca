"""Not an extension (no ``ext_`` prefix): discovery must not register it."""

from __future__ import annotations

from typing import Any


def register(server: Any) -> None:
    server.hover_providers.append(lambda doc, pos: "helper was registered (it must not be)")
