"""Fill a database the way the pipeline would: ingestion through Dagster, analytics from the stored rows.

`fill_analytics` stands in for the analytics Dagster assets (sector_money_flow → sector_rotation,
rotation_signal, rotation_transition, rotation_scorecard, short_overheat): it calls the same pure
functions on the database contents and upserts their outputs. Swapping it for a materialization of those
assets is a one-line change in the `pages_database_url` fixture.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd

from kis_intel_assets.analytics import (
    rotation_scorecard,
    rotation_signals,
    rotation_transitions,
    sector_money_flow,
    short_overheat,
)
from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect, fetch_frame, upsert_frame

RATE = 400.0
TABLE_KEYS = {
    "sector_rotation": ["sector_code", "time"],
    "rotation_signal": ["sector_code", "time"],
    "rotation_transition": ["sector_code", "kind", "time"],
    "rotation_scorecard": ["method", "horizon", "time"],
    "short_overheat": ["symbol", "time"],
}


def ingest(sim: Simulator, database_url: str, first: date, last: date) -> None:
    """stock_universe, then one range-backfill run of the daily ingestion assets."""
    database = DatabaseResource(url=database_url)
    resources = {
        "database": database,
        "kis": KISResource(
            app_key="pages-test-key",
            app_secret="pages-test-secret",
            database=database,
            base_url=sim.base_url,
            master_base_url=sim.master_base_url,
            rate_limit_per_sec=RATE,
            fetch_workers=4,
        ),
    }
    assert dg.materialize([stock_universe], resources=resources).success
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    assets = [daily_prices, investor_trends, short_selling]  # program trading: no page reads it
    assert dg.materialize(assets, resources=resources, tags=tags).success


def analytics_tables(
    stock_master: pd.DataFrame, prices: pd.DataFrame, flows: pd.DataFrame, short_daily: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The analytics outputs the pages read, keyed by table (see TABLE_KEYS)."""
    flow = sector_money_flow(stock_master, prices, flows)
    signals = rotation_signals(flow)
    return {
        "sector_rotation": flow,
        "rotation_signal": signals,
        "rotation_transition": rotation_transitions(signals),
        "rotation_scorecard": rotation_scorecard(signals, flow),
        "short_overheat": short_overheat(short_daily),
    }


def write_tables(database_url: str, tables: dict[str, pd.DataFrame]) -> None:
    with connect(database_url) as conn:
        for table, frame in tables.items():
            upsert_frame(conn, table, frame, TABLE_KEYS[table])


def fill_analytics(database_url: str) -> None:
    """Compute the analytics tables from everything stored and upsert them."""
    with connect(database_url) as conn:
        master = fetch_frame(conn, "SELECT * FROM stock_master ORDER BY symbol, valid_from")
        prices = fetch_frame(conn, "SELECT * FROM daily_prices ORDER BY symbol, time")
        flows = fetch_frame(
            conn,
            """SELECT time, symbol, foreign_net_value, institution_net_value, individual_net_value
                 FROM investor_trends ORDER BY symbol, time""",
        )
        short_daily = fetch_frame(
            conn,
            """SELECT s.time, s.symbol, m.market, p.close, p.trading_value, s.short_value,
                      s.short_value_ratio AS short_ratio
                 FROM short_selling s
                 JOIN daily_prices p USING (symbol, time)
                 JOIN LATERAL (SELECT market FROM stock_master sm
                                WHERE sm.symbol = s.symbol AND sm.valid_from <= s.time
                                ORDER BY sm.valid_from DESC LIMIT 1) m ON TRUE
                ORDER BY s.symbol, s.time""",
        )
    write_tables(database_url, analytics_tables(master, prices, flows, short_daily))
