"""RRG state, signals and transitions: causal windows, independent re-computation, partition equality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import (
    RotationConfig,
    relative_rotation,
    rotation_signals,
    rotation_transitions,
    rows_for_day,
    sector_money_flow,
)
from kis_intel_assets_tests.support.synthetic_market import SyntheticMarket, perturbed_after, synthetic_market


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return synthetic_market(n_days=200, seed=21)


def flow_of(market: SyntheticMarket) -> pd.DataFrame:
    return sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)


def test_rs_ratio_and_momentum_match_a_direct_rolling_computation(market: SyntheticMarket) -> None:
    config = RotationConfig()
    flow = flow_of(market)
    rrg = relative_rotation(flow, config)

    sector = flow[flow["sector_code"] == "1006"].sort_values("time")
    growth = (1 + sector["sector_return_pct"].fillna(0) / 100).cumprod()
    benchmark = (1 + sector["market_return_pct"].fillna(0) / 100).cumprod()
    rs = 100 * growth / benchmark
    window = rs.rolling(config.rs_ratio_window)
    ratio = 100 + (rs - window.mean()) / window.std()
    roc = 100 * (ratio / ratio.shift(config.momentum_roc_days) - 1)
    momentum_window = roc.rolling(config.rs_momentum_window)
    momentum = 100 + (roc - momentum_window.mean()) / momentum_window.std()

    mine = rrg[rrg["sector_code"] == "1006"].sort_values("time")
    np.testing.assert_allclose(mine["rs_ratio"].to_numpy(), ratio.to_numpy(), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(mine["rs_momentum"].to_numpy(), momentum.to_numpy(), rtol=1e-9, equal_nan=True)
    first = config.rs_ratio_window + config.momentum_roc_days + config.rs_momentum_window - 2
    assert mine["rs_momentum"].iloc[:first].isna().all() and mine["rs_momentum"].iloc[first:].notna().all()


def test_quadrants_follow_the_axes(market: SyntheticMarket) -> None:
    rrg = relative_rotation(flow_of(market)).dropna(subset=["rs_momentum"])
    right, up = rrg["rs_ratio"] >= 100, rrg["rs_momentum"] >= 100
    expected = np.select(
        [right & up, right & ~up, ~right & ~up], ["Leading", "Weakening", "Lagging"], default="Improving"
    )

    assert (rrg["quadrant"].to_numpy() == expected).all()
    assert set(rrg["quadrant"]) == {"Leading", "Weakening", "Lagging", "Improving"}


def test_signals_carry_score_reason_and_the_configured_thresholds(market: SyntheticMarket) -> None:
    config = RotationConfig()
    signals = rotation_signals(flow_of(market), config)

    assert set(signals["signal"]) == {"INFLOW", "OUTFLOW", "NEUTRAL"}
    inflow, outflow = signals[signals["signal"] == "INFLOW"], signals[signals["signal"] == "OUTFLOW"]
    assert (inflow["score"] >= config.signal_threshold).all() and (inflow["flow_z20"] >= 1).all()
    assert (outflow["score"] <= -config.signal_threshold).all() and (outflow["flow_z20"] <= -1).all()
    prefixes = signals["signal"] + ": foreign+institution net "
    assert all(reason.startswith(prefix) for reason, prefix in zip(signals["reason"], prefixes, strict=True))
    assert signals[["score", "rs_ratio", "rs_momentum", "quadrant"]].notna().all().all()


def test_transitions_are_the_changes_between_consecutive_rows() -> None:
    signals = pd.DataFrame(
        {
            "time": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-02", "2025-01-03"]),
            "sector_code": ["A", "A", "A", "B", "B"],
            "signal": ["NEUTRAL", "INFLOW", "INFLOW", "OUTFLOW", "OUTFLOW"],
            "quadrant": ["Improving", "Leading", "Weakening", "Lagging", "Lagging"],
        }
    )

    transitions = rotation_transitions(signals.sample(frac=1.0, random_state=1))

    assert transitions.to_dict("records") == [
        {"time": pd.Timestamp("2025-01-03"), "sector_code": "A", "kind": "quadrant",
         "from_state": "Improving", "to_state": "Leading"},
        {"time": pd.Timestamp("2025-01-03"), "sector_code": "A", "kind": "signal",
         "from_state": "NEUTRAL", "to_state": "INFLOW"},
        {"time": pd.Timestamp("2025-01-06"), "sector_code": "A", "kind": "quadrant",
         "from_state": "Leading", "to_state": "Weakening"},
    ]  # fmt: skip


def test_changing_data_after_t_changes_no_rrg_signal_or_transition_up_to_t(market: SyntheticMarket) -> None:
    cutoff = market.daily_prices["time"].sort_values().unique()[170]
    original = rotation_signals(flow_of(market))
    changed = rotation_signals(sector_money_flow(*perturbed_after(market, cutoff)))

    def upto(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["time"] <= pd.Timestamp(cutoff)].sort_values(
            ["time", "sector_code"], ignore_index=True
        )

    pd.testing.assert_frame_equal(upto(original), upto(changed))
    pd.testing.assert_frame_equal(upto(rotation_transitions(original)), upto(rotation_transitions(changed)))
    assert not upto(original).equals(original.sort_values(["time", "sector_code"], ignore_index=True))


def test_one_partition_from_its_lookback_window_equals_the_full_recompute(market: SyntheticMarket) -> None:
    config = RotationConfig()
    days = market.daily_prices["time"].sort_values().unique()
    day, first = days[190], days[190 - config.lookback_days]
    prices, flows = (
        frame[(frame["time"] >= first) & (frame["time"] <= day)]
        for frame in (market.daily_prices, market.investor_trends)
    )

    full_signals = rotation_signals(flow_of(market), config)
    window_signals = rotation_signals(sector_money_flow(market.stock_master, prices, flows), config)

    expected, actual = rows_for_day(full_signals, day), rows_for_day(window_signals, day)
    assert len(expected) == 6
    pd.testing.assert_frame_equal(expected, actual, check_exact=False, rtol=1e-7)
    pd.testing.assert_frame_equal(
        rows_for_day(rotation_transitions(full_signals), day),
        rows_for_day(rotation_transitions(window_signals), day),
    )
