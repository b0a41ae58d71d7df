"""Every analytics output fits its table from sql/003_analytics.sql, and writing it twice is idempotent."""

from __future__ import annotations

import pandas as pd

from kis_intel_assets.analytics import (
    concentrated_buying,
    money_flow_index_panel,
    rotation_scorecard,
    rotation_signals,
    rotation_transitions,
    sector_money_flow,
    short_overheat,
)
from kis_intel_assets.storage import TABLES, connect, fetch_frame, upsert_frame
from kis_intel_assets_tests.support.buying_market import market as buying_market
from kis_intel_assets_tests.support.buying_market import noise, plant
from kis_intel_assets_tests.support.overheat_scenarios import scenario_frame
from kis_intel_assets_tests.support.synthetic_market import Episode, synthetic_market


def outputs() -> dict[str, pd.DataFrame]:
    market = synthetic_market(n_days=160, seed=2, episodes=(Episode(sector=1, start=120, direction=1),))
    flow = sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)
    signals = rotation_signals(flow)
    prices = market.daily_prices
    stock_mfi = prices[["time", "symbol"]].assign(money_flow_index=money_flow_index_panel(prices)).dropna()
    flows = noise()
    plant(flows, stock=0, investor=0, days=5, value=4e9)
    return {
        "stock_mfi": stock_mfi,
        "sector_rotation": flow,
        "rotation_signal": signals,
        "rotation_transition": rotation_transitions(signals),
        "rotation_scorecard": rotation_scorecard(signals, flow),
        "short_overheat": short_overheat(scenario_frame()),
        "concentrated_buying": concentrated_buying(*buying_market(flows)),
    }


def test_outputs_upsert_into_their_tables_idempotently(database_url: str) -> None:
    with connect(database_url) as conn:
        for table, frame in outputs().items():
            assert not frame.empty, table
            by_key = f"SELECT * FROM {table} ORDER BY {', '.join(TABLES[table].key)}"
            assert upsert_frame(conn, table, frame) == len(frame)
            first = fetch_frame(conn, by_key)
            assert upsert_frame(conn, table, frame) == len(frame)
            second = fetch_frame(conn, by_key)
            assert len(first) == len(frame), table
            pd.testing.assert_frame_equal(first, second)

        signal = fetch_frame(conn, "SELECT signal, quadrant, reason FROM rotation_signal LIMIT 1").iloc[0]
        assert signal["reason"].startswith(signal["signal"])
        overheat = fetch_frame(conn, "SELECT rule_type, ban_date FROM short_overheat WHERE symbol = 'KSPI02'")
        assert overheat.iloc[0]["rule_type"] == 2 and overheat.iloc[0]["ban_date"] is not None
