"""The price-only rotation signal: it runs when flows are missing or flat, users can choose it, and the
flow-weighted signal stays the default wherever flows exist (issue 16, defect 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import RotationConfig, rotation_signals, sector_money_flow
from kis_intel_assets_tests.support.synthetic_market import synthetic_market


@pytest.fixture(scope="module")
def flow() -> pd.DataFrame:
    market = synthetic_market(n_days=200, seed=21)
    return sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)


def without_flows() -> pd.DataFrame:
    """No investor_trends at all: the flow columns and their z-scores are NaN."""
    market = synthetic_market(n_days=200, seed=21)
    return sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends.iloc[:0])


def test_missing_flows_give_price_only_signals_instead_of_none(flow: pd.DataFrame) -> None:
    empty = without_flows()
    assert empty["flow_z20"].isna().all() and empty["foreign_flow"].isna().all()

    signals = rotation_signals(empty)  # before issue 16: an empty frame, and the scorecard stopped

    assert len(signals) == len(rotation_signals(flow)) > 500
    assert set(signals["signal_method"]) == {"price"}
    assert signals["signal"].tolist() == signals["price_signal"].tolist()
    assert signals["score"].tolist() == signals["price_score"].tolist()
    assert set(signals["signal"]) == {"INFLOW", "OUTFLOW", "NEUTRAL"}
    prefixes = signals["signal"] + " (price only): RS-Ratio"
    assert all(reason.startswith(prefix) for reason, prefix in zip(signals["reason"], prefixes, strict=True))


def test_flat_flows_fall_back_to_the_price_rule(flow: pd.DataFrame) -> None:
    flat = flow.assign(flow_z20=np.nan, flow_z60=np.nan)  # a flat window has no z-score (std 0)

    signals = rotation_signals(flat)

    assert set(signals["signal_method"]) == {"price"} and len(signals) > 500


def test_the_price_rule_follows_the_quadrants(flow: pd.DataFrame) -> None:
    config = RotationConfig()
    signals = rotation_signals(flow, config)
    inflow = signals[signals["price_signal"] == "INFLOW"]
    outflow = signals[signals["price_signal"] == "OUTFLOW"]
    neutral = signals[signals["price_signal"] == "NEUTRAL"]

    assert set(inflow["quadrant"]) <= {"Improving", "Leading"} and len(inflow) > 10
    assert set(outflow["quadrant"]) <= {"Weakening", "Lagging"} and len(outflow) > 10
    assert (inflow["price_score"] >= config.signal_threshold).all()
    assert (outflow["price_score"] <= -config.signal_threshold).all()
    expected = ((signals["rs_ratio"] - 100) + (signals["rs_momentum"] - 100)).clip(-6, 6) / 2
    assert signals["price_score"].tolist() == pytest.approx(expected.tolist())
    up = neutral["rs_momentum"] >= 100
    assert not ((neutral["price_score"] >= 1) & up).any() and not ((neutral["price_score"] <= -1) & ~up).any()


def test_flow_weighted_is_the_default_where_flows_exist_and_users_can_choose(flow: pd.DataFrame) -> None:
    auto = rotation_signals(flow)
    price = rotation_signals(flow, RotationConfig(method="price"))
    flow_only = rotation_signals(without_flows(), RotationConfig(method="flow"))

    assert set(auto["signal_method"]) == {"flow"}
    assert auto["signal"].tolist() != auto["price_signal"].tolist()  # the two rules do differ
    assert set(price["signal_method"]) == {"price"}
    assert price["signal"].tolist() == auto["price_signal"].tolist()
    assert flow_only.empty  # "flow" keeps only rows that have flows
    with pytest.raises(ValueError, match=r"RotationConfig\.method must be one of"):
        RotationConfig(method="flows")


def test_auto_mixes_per_row_when_flows_start_late(flow: pd.DataFrame) -> None:
    late = flow.copy()
    early = late["time"] < late["time"].sort_values().unique()[120]
    late.loc[early, ["flow_z20", "flow_z60"]] = np.nan

    signals = rotation_signals(late).set_index(["sector_code", "time"])
    reference = rotation_signals(flow).set_index(["sector_code", "time"])

    cut = late["time"].sort_values().unique()[120]
    before = signals.index.get_level_values("time") < cut
    assert set(signals.loc[before, "signal_method"]) == {"price"}
    assert set(signals.loc[~before, "signal_method"]) == {"flow"}
    after_rows = signals.index[~before]
    assert signals.loc[after_rows, "signal"].tolist() == reference.loc[after_rows, "signal"].tolist()
