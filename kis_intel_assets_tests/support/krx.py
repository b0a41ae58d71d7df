"""The market and the demo account the KRX client tests share."""

from __future__ import annotations

import datetime as dt

from kis_intel_assets.krx import KRXCredentials
from kis_intel_assets.simulator import SimulatorConfig
from kis_intel_assets.simulator.krx_app import DEFAULT_ACCOUNTS

# Short selling resumed on 2025-03-31, so balances move with real short volume in this span.
MARKET = SimulatorConfig(seed=7, n_symbols=24, start=dt.date(2025, 3, 4), end=dt.date(2025, 6, 30))
ACCOUNT, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))
CREDENTIALS = KRXCredentials(ACCOUNT, PASSWORD)
DAY = dt.date(2025, 6, 20)  # published on the default clock (after 18:00 of 2025-06-30)
