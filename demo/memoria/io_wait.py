"""Synchronisation with a (simulated) remote memory service."""

from __future__ import annotations

import time

DEFAULT_LATENCY = 0.05  # seconds per simulated round trip


def sync_remote(n: int = 20, latency: float = DEFAULT_LATENCY) -> list[int]:
    """Push ``n`` records to the remote service, one request at a time.

    Each request waits ``latency`` seconds for the (simulated) network.
    Returns the acknowledged record numbers, in order.
    """
    acked: list[int] = []
    for record in range(n):
        time.sleep(latency)
        acked.append(record)
    return acked
