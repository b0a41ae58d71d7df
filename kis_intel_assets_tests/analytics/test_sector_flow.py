"""Sector money flow against a hand-computed fixture (with a mid-window sector move), free of look-ahead."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import SECTOR_FLOW_LOOKBACK_DAYS, rows_for_day, sector_money_flow
from kis_intel_assets_tests.support.synthetic_market import perturbed_after, synthetic_market

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)


def hand_fixture() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A, B in sector X and C in Y (all KOSPI); B moves to Y from D3. High = low = close, so TP = close."""
    master = pd.DataFrame(
        [
            ("00000A", D1, "KOSPI", "X", "업종X", 10),
            ("00000B", D1, "KOSPI", "X", "업종X", 20),
            ("00000B", D3, "KOSPI", "Y", "업종Y", 20),
            ("00000C", D1, "KOSPI", "Y", "업종Y", 30),
        ],
        columns=["symbol", "valid_from", "market", "sector_code", "sector_name", "listed_shares"],
    )
    closes = {"00000A": [100, 110, 121], "00000B": [50, 50, 55], "00000C": [200, 190, 190]}
    volumes = {"00000A": [1, 2, 3], "00000B": [4, 5, 6], "00000C": [7, 8, 9]}
    rows = []
    for symbol, series in closes.items():
        for day, close, volume in zip((D1, D2, D3), series, volumes[symbol], strict=True):
            rows.append((day, symbol, close, close, close, close, volume, close * volume))
    prices = pd.DataFrame(
        rows, columns=["time", "symbol", "open", "high", "low", "close", "volume", "trading_value"]
    )
    foreign = {"00000A": [10, 20, 30], "00000B": [5, 5, 5], "00000C": [-1, -2, -3]}
    institution = {"00000A": 1, "00000B": 2, "00000C": 3}
    flow_rows = [
        (day, symbol, f, institution[symbol], -(f + institution[symbol]))
        for symbol, series in foreign.items()
        for day, f in zip((D1, D2, D3), series, strict=True)
        if not (symbol == "00000C" and day == D2)  # C has no investor row on D2
    ]
    flows = pd.DataFrame(
        flow_rows,
        columns=["time", "symbol", "foreign_net_value", "institution_net_value", "retail_net_value"],
    )
    return master, prices, flows


def row(frame: pd.DataFrame, day: date, sector: str) -> pd.Series:
    match = frame[(frame["time"] == pd.Timestamp(day)) & (frame["sector_code"] == sector)]
    assert len(match) == 1
    return match.iloc[0]


def test_hand_computed_sector_rows_follow_point_in_time_membership() -> None:
    flow = sector_money_flow(*hand_fixture(), mfi_period=2)

    x1, y1 = row(flow, D1, "X"), row(flow, D1, "Y")
    assert (x1["member_count"], x1["foreign_flow"], x1["institution_flow"], x1["individual_flow"]) == (
        2,
        15,
        3,
        -18,
    )
    assert (x1["market_cap"], x1["trading_value"], x1["market"]) == (2000, 300, "KOSPI")
    assert x1["flow_intensity_cap_bp"] == pytest.approx(18 / 2000 * 1e4)
    assert x1["flow_intensity_turnover_pct"] == pytest.approx(18 / 300 * 100)
    assert np.isnan(x1["sector_return_pct"]) and np.isnan(x1["volume_change_pct"])
    assert y1["foreign_flow"] == -1 and y1["market_cap"] == 6000

    x2, y2 = row(flow, D2, "X"), row(flow, D2, "Y")
    assert x2["sector_return_pct"] == pytest.approx(5.0)  # (1100 + 1000) / (1000 + 1000)
    assert x2["volume_change_pct"] == pytest.approx(40.0)  # (2 + 5) / (1 + 4)
    assert x2["market_return_pct"] == pytest.approx(-2.5)  # KOSPI: 7800 / 8000
    assert y2["sector_return_pct"] == pytest.approx(-5.0)
    assert pd.isna(y2["foreign_flow"]) and y2["flow_member_count"] == 0  # missing, not zero

    x3, y3 = row(flow, D3, "X"), row(flow, D3, "Y")
    assert (x3["member_count"], x3["foreign_flow"], x3["market_cap"]) == (1, 30, 1210)
    assert x3["sector_return_pct"] == pytest.approx(10.0)
    assert x3["volume_change_pct"] == pytest.approx(50.0)
    # B counts for Y from D3, with its own D2 close as the matched previous value.
    assert (y3["member_count"], y3["foreign_flow"], y3["institution_flow"]) == (2, 2, 5)
    assert y3["sector_return_pct"] == pytest.approx((6800 / 6700 - 1) * 100)
    assert y3["volume_change_pct"] == pytest.approx((15 / 13 - 1) * 100)
    assert y3["market_return_pct"] == pytest.approx((8010 / 7800 - 1) * 100)
    # Sector MFI, period 2: X rose on D2 and D3; Y fell on D2 (flow 190·8) and rose on D3 (55·6 + 190·9).
    assert np.isnan(x2["money_flow_index"])
    assert x3["money_flow_index"] == 100.0
    assert y3["money_flow_index"] == pytest.approx(100 * 2040 / (1520 + 2040))


def test_stock_days_before_the_first_master_row_belong_to_no_sector() -> None:
    master, prices, flows = hand_fixture()
    late = master.assign(valid_from=master["valid_from"].where(master["symbol"] != "00000A", D2))

    flow = sector_money_flow(late, prices, flows)

    assert row(flow, D1, "X")["member_count"] == 1
    assert row(flow, D2, "X")["member_count"] == 2


def test_bad_input_is_named() -> None:
    master, prices, flows = hand_fixture()
    with pytest.raises(ValueError, match="daily_prices is missing columns"):
        sector_money_flow(master, prices.drop(columns="volume"), flows)
    with pytest.raises(ValueError, match="daily_prices has duplicate"):
        sector_money_flow(master, pd.concat([prices, prices.iloc[:1]]), flows)
    with pytest.raises(ValueError, match=r"stock_master\.market"):
        sector_money_flow(master.assign(market="KONEX"), prices, flows)
    with pytest.raises(ValueError, match=r"daily_prices\.close must be positive"):
        sector_money_flow(master, prices.assign(close=0), flows)


def test_changing_data_after_t_changes_nothing_up_to_t() -> None:
    market = synthetic_market(n_days=120, seed=11)
    cutoff = market.daily_prices["time"].sort_values().unique()[99]

    original = sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)
    changed = sector_money_flow(*perturbed_after(market, cutoff))

    upto = original[original["time"] <= pd.Timestamp(cutoff)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        upto, changed[changed["time"] <= pd.Timestamp(cutoff)].reset_index(drop=True)
    )
    assert not original[original["time"] > pd.Timestamp(cutoff)].equals(
        changed[changed["time"] > pd.Timestamp(cutoff)]
    )


def test_one_partition_from_its_trailing_window_equals_the_full_recompute() -> None:
    market = synthetic_market(n_days=150, seed=5)
    days = market.daily_prices["time"].sort_values().unique()
    day = days[140]
    window_start = days[140 - SECTOR_FLOW_LOOKBACK_DAYS]

    full = rows_for_day(
        sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends), day
    )
    prices, flows = (
        frame[(frame["time"] >= window_start) & (frame["time"] <= day)]
        for frame in (market.daily_prices, market.investor_trends)
    )
    partition = rows_for_day(sector_money_flow(market.stock_master, prices, flows), day)

    assert len(full) == 6 and full["flow_z60"].notna().all() and full["money_flow_index"].notna().all()
    pd.testing.assert_frame_equal(full, partition, check_exact=False, rtol=1e-9)


def test_row_order_of_the_inputs_does_not_matter() -> None:
    market = synthetic_market(n_days=40, seed=8)
    aligned = sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)

    shuffled = sector_money_flow(
        market.stock_master.sample(frac=1.0, random_state=1),
        market.daily_prices.sample(frac=1.0, random_state=2),
        market.investor_trends.sample(frac=1.0, random_state=3),
    )

    pd.testing.assert_frame_equal(aligned, shuffled)
