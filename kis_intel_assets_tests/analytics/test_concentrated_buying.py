"""Concentrated buying flags a planted foreign streak, not noise, nor buying habitual for the stock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import ConcentratedBuyingConfig, concentrated_buying
from kis_intel_assets.analytics.concentrated_buying import consecutive_positive

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


def test_planted_foreign_streak_is_flagged_and_noise_is_not() -> None:
    flows = noise()
    plant(flows, stock=0, investor=0, days=5, value=4e9)  # 40억원 a day for five days

    result = concentrated_buying(*market(flows))

    assert set(result["symbol"]) == {"200000"} and set(result["investor"]) == {"foreign"}
    first = result.iloc[0]
    assert first["time"] == pd.Timestamp(pd.bdate_range("2025-01-02", periods=N_DAYS)[STREAK_START + 2])
    assert first["consecutive_days"] == 3  # flagged from the third day of the streak
    assert result["consecutive_days"].tolist() == [3, 4, 5]
    fifth = result.iloc[-1]
    assert fifth["net_value_5d"] == 5 * 4_000_000_000
    assert fifth["pct_of_market_cap"] == pytest.approx(100 * 2e10 / (CLOSE * SHARES))
    assert fifth["zscore"] > 10
    assert "foreign net buy 200.0억원 over 5d" in fifth["reason"]


def test_two_day_burst_and_habitual_buying_are_not_flagged() -> None:
    flows = noise(seed=1)
    plant(flows, stock=1, investor=0, days=2, value=2e10)  # two huge days, then a net-sell day
    flows[:, 2, 1] = np.random.default_rng(2).normal(0.0, 8e9, N_DAYS)  # an institution-heavy stock
    plant(flows, stock=2, investor=1, days=5, value=4e9)  # ...for which this streak is ordinary

    result = concentrated_buying(*market(flows))

    days = pd.bdate_range("2025-01-02", periods=N_DAYS)
    # Until three net-buy days follow the sell day, the burst alone never qualifies.
    burst = result[(result["symbol"] == "200001") & (result["time"] < days[STREAK_START + 5])]
    assert burst.empty
    habitual = result[
        (result["symbol"] == "200002") & result["time"].isin(days[STREAK_START : STREAK_START + 6])
    ]
    assert habitual.empty
    assert len(result) <= 3  # noise elsewhere: at most a handful of chance hits in 6,000 stock-days


def test_thresholds_are_configurable() -> None:
    flows = noise(seed=3)
    plant(flows, stock=1, investor=0, days=2, value=2e10)

    result = concentrated_buying(*market(flows), config=ConcentratedBuyingConfig(min_consecutive_days=2))

    first = result.iloc[0]
    assert (first["symbol"], first["investor"], first["consecutive_days"]) == ("200001", "foreign", 2)
    assert first["time"] == pd.bdate_range("2025-01-02", periods=N_DAYS)[STREAK_START + 1]
    default = concentrated_buying(*market(flows))  # needs three days in a row: not during the burst
    assert not (default["time"] < pd.bdate_range("2025-01-02", periods=N_DAYS)[STREAK_START + 5]).any()


def test_consecutive_positive_restarts_per_stock() -> None:
    values = np.array([1.0, 2.0, -1.0, 3.0, 4.0, 5.0, 1.0, 1.0])
    positions = np.array([0, 1, 2, 3, 4, 5, 0, 1])

    assert consecutive_positive(values, positions).tolist() == [1, 2, 0, 1, 2, 3, 1, 2]
