"""Entry points for spawned worker processes (must be importable by module name)."""

from __future__ import annotations

from typing import Any

from kis_intel_assets.kis import KISClient, KISConfig


def fetch_quotes(config: KISConfig, symbols: list[str], count: int, start: Any, results: Any) -> None:
    """One "process of a Dagster run": builds its own client, waits for the others, then fetches."""
    with KISClient.connect(config) as client:
        start.wait(timeout=60)
        for i in range(count):
            client.current_price(symbols[i % len(symbols)])
        results.put(client.metrics.snapshot())
