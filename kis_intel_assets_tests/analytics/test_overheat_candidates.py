"""Closeness to a type ① 공매도 과열 designation: the figures the /overheat watch list reads."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kis_intel_assets.analytics import market_day_totals, overheat_candidates, quarterly_short_ratio
from kis_intel_assets.analytics.short_overheat import CANDIDATE_COLUMNS, closeness
from kis_intel_assets_tests.support.overheat_scenarios import T, scenario_frame


def test_closeness_is_the_mean_of_the_capped_type_1_progress_ratios() -> None:
    candidates = pd.DataFrame(
        {
            "symbol": ["A00001", "A00002", "A00003", "A00004"],
            "name": ["가", "나", "다", "라"],
            "market": ["KOSPI", "KOSDAQ", "KOSPI", "KOSPI"],
            "close": [95.0, 110.0, 80.0, 100.0],
            "previous_close": [100.0, 100.0, 100.0, 100.0],
            "short_ratio": [6.0, 30.0, 20.0, 5.0],
            "short_amount": [300.0, 250.0, 1200.0, 100.0],
            "avg_short_value_40d": [100.0, 100.0, 100.0, 100.0],
            "traded_days_40d": [40, 40, 40, 19],  # the last is excluded by the 20-of-40 rule
        }
    )
    limits = {"KOSPI": 12.0, "KOSDAQ": 10.0}
    ranked = closeness(candidates.assign(quarter_ratio_threshold=candidates["market"].map(limits)))
    assert list(ranked["symbol"]) == ["A00003", "A00001", "A00002"]
    expected = {
        "A00003": 100.0,  # −20%, 20% ≥ 12%, 12× ≥ 6×: every condition met (capped at 1 each)
        "A00002": 100.0 * (0 + 1 + 0.5) / 3,  # a rise, 30% ≥ 10%, 2.5× of the KOSDAQ 5×
        "A00001": 100.0 * (1 + 0.5 + 0.5) / 3,  # −5%, 6% of 12%, 3× of 6×
    }
    for symbol, value in expected.items():
        assert ranked.set_index("symbol").loc[symbol, "closeness_pct"] == pytest.approx(value)


def test_candidates_use_the_designation_rules_baseline_and_quarter_threshold() -> None:
    daily = scenario_frame()
    result = overheat_candidates(daily)
    on_t = result[result["time"] == pd.Timestamp(T)].set_index("symbol")

    assert list(result.columns) == list(CANDIDATE_COLUMNS)
    assert on_t.loc["KSPI01", "closeness_pct"] == pytest.approx(100.0)  # a type ① designation
    assert on_t.loc["KSPINO", "closeness_pct"] == pytest.approx(100.0 * (4.9 / 5 + 1 + 1) / 3)
    assert on_t.loc["KSPI55", "multiple_progress"] == pytest.approx(5.5 / 6)
    assert on_t.loc["KSDQ01", "required_multiple"] == 5
    assert on_t["quarter_ratio_threshold"].tolist() == pytest.approx([3.0] * len(on_t))
    assert on_t.loc["KSPI01", "threshold_source"] == "min(3 × 2025Q3 KOSPI ratio 1.00%, 20%)"
    assert on_t["closeness_pct"].is_monotonic_decreasing
    first_full_window = sorted(daily["time"].unique())[40]  # earlier days have fewer than 40 before them
    assert result["time"].min() == pd.Timestamp(first_full_window)
    same = overheat_candidates(daily, quarterly_short_ratio(market_day_totals(daily)))
    pd.testing.assert_frame_equal(same, result)


def test_without_an_earlier_usable_quarter_the_20_percent_cap_stands_in() -> None:
    daily = scenario_frame()
    on_t = overheat_candidates(daily[daily["time"] >= date(2025, 10, 1)])
    on_t = on_t[on_t["time"] == pd.Timestamp(T)].set_index("symbol")

    assert (on_t["quarter_ratio_threshold"] == 20.0).all()
    assert on_t.loc["KSDQ01", "threshold_source"] == "20% cap: no earlier KOSDAQ quarter has 20 usable days"
    assert on_t.loc["KSPI01", "ratio_progress"] == pytest.approx(5.0 / 20.0)


def test_market_day_totals_are_checked_as_their_own_input() -> None:
    totals = market_day_totals(scenario_frame())
    assert list(totals.columns) == ["time", "market", "trading_value", "short_amount"]
    with pytest.raises(ValueError, match=r"market_days\.market must be one of"):
        quarterly_short_ratio(totals.assign(market="KONEX"))
    with pytest.raises(ValueError, match="market_days is missing columns"):
        quarterly_short_ratio(totals.drop(columns="short_amount"))
