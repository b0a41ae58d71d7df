"""A 20-stock, 150-day market of noisy daily net buying with streaks planted by hand, for the concentrated
buying rule and the analytics table round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_DAYS, N_STOCKS = 150, 20
CLOSE, SHARES = 10_000, 100_000_000  # market cap 1조원: 0.2% is 20억원
STREAK_START = 100


def market(noise: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    days = [d.date() for d in pd.bdate_range("2025-01-02", periods=N_DAYS)]
    symbols = [f"{200000 + i:06d}" for i in range(N_STOCKS)]
    grid = pd.MultiIndex.from_product([days, symbols], names=["time", "symbol"]).to_frame(index=False)
    prices = grid.assign(open=CLOSE, high=CLOSE, low=CLOSE, close=CLOSE, volume=100_000,
                         trading_value=CLOSE * 100_000)  # fmt: skip
    foreign = np.round(noise[:, :, 0]).astype(np.int64).ravel()
    institution = np.round(noise[:, :, 1]).astype(np.int64).ravel()
    flows = grid.assign(
        foreign_net_value=foreign,
        institution_net_value=institution,
        retail_net_value=-(foreign + institution),
    )
    master = pd.DataFrame({"symbol": symbols, "valid_from": days[0], "market": "KOSPI", "sector_code": "1013",
                           "sector_name": "전기전자", "listed_shares": SHARES})  # fmt: skip
    return master, prices, flows


def noise(seed: int = 0) -> np.ndarray:
    """Daily net buying with a 2억원 standard deviation (a weekly sum is ~0.045% of cap)."""
    return np.random.default_rng(seed).normal(0.0, 2e8, (N_DAYS, N_STOCKS, 2))


def plant(flows: np.ndarray, stock: int, investor: int, days: int, value: float) -> None:
    """`days` net-buy days from STREAK_START, with a net-sell day on either side so the streak is exact."""
    flows[STREAK_START - 1, stock, investor] = flows[STREAK_START + days, stock, investor] = -1e8
    flows[STREAK_START : STREAK_START + days, stock, investor] = value
