"""The market the Kiwoom client tests share: 12 stocks, 2024-01-02..2024-09-30, a token again after 1 s."""

from __future__ import annotations

import datetime as dt

from kis_intel_assets.simulator import SimulatorConfig

MARKET = SimulatorConfig(
    seed=7, n_symbols=12, start=dt.date(2024, 1, 2), end=dt.date(2024, 9, 30), token_min_interval_seconds=1.0
)
