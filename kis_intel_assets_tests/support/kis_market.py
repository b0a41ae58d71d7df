"""The KIS client tests' market and comparisons: a small simulator (12 symbols, 2024-01-02..2025-03-31),
our frames against its ground truth, and how many requests a key sent for one TR."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from kis_intel_assets.kis import KISConfig

START, END = dt.date(2024, 1, 2), dt.date(2025, 3, 31)


def sim_config(**overrides: Any) -> Any:
    """A small simulator (12 symbols, START..END); token re-issuance allowed after 1 s."""
    from kis_intel_assets.simulator import SimulatorConfig

    settings: dict[str, Any] = {
        "seed": 7,
        "n_symbols": 12,
        "start": START,
        "end": END,
        "rate_limit_per_sec": 20.0,
        "token_min_interval_seconds": 1.0,
    }
    return SimulatorConfig(**{**settings, **overrides})


def assert_same(ours: pd.DataFrame, truth: pd.DataFrame, keys: list[str]) -> None:
    """Our columns against the truth's; columns read only for validation have no ground truth."""
    columns = [c for c in ours.columns if c in truth.columns]
    truth = truth[columns].sort_values(keys).reset_index(drop=True)
    ours = ours[columns].sort_values(keys).reset_index(drop=True)
    assert len(ours) > 0
    pd.testing.assert_frame_equal(ours, truth, check_dtype=False)


def calls(sim: Any, config: KISConfig, tr_id: str) -> int:
    """Requests the simulator saw from `config`'s key for `tr_id`."""
    return len(sim.stats.requests(config.app_key.reveal(), tr_id))
