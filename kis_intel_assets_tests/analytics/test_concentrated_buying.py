"""Concentrated buying flags a planted foreign streak, not noise, nor buying habitual for the stock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import ConcentratedBuyingConfig, concentrated_buying
from kis_intel_assets.analytics.concentrated_buying import consecutive_positive
from kis_intel_assets_tests.support.buying_market import (
    CLOSE,
    N_DAYS,
    SHARES,
    STREAK_START,
    market,
    noise,
    plant,
)


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
