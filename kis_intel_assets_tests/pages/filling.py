"""Fill a database the way the pipeline does: ingestion through Dagster against the simulator, then the
analytics assets over the days for which their trailing history is stored."""

from __future__ import annotations

from datetime import date

import dagster as dg

from kis_intel_assets.analytics import SECTOR_FLOW_LOOKBACK_DAYS, RotationConfig
from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets_tests.support.simulators import simulator_resources

RATE = 100.0  # the most a key may be given


def ingest(sim: Simulator, database_url: str, first: date, last: date) -> None:
    """stock_universe, then one range-backfill run of the daily ingestion assets."""
    resources = simulator_resources(
        sim, database_url, "pages-test-key", "pages-test-secret", rate_limit_per_sec=RATE, fetch_workers=4
    )
    assert dg.materialize([stock_universe], resources=resources).success
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    assets = [daily_prices, investor_trends, short_selling]  # program trading: no page reads it
    assert dg.materialize(assets, resources=resources, tags=tags).success


def run_analytics(database_url: str, first: date, last: date) -> None:
    """The analytics assets, each over the days whose trailing window [first, last] covers."""
    days = trading_days(first, last)
    flow_from = SECTOR_FLOW_LOOKBACK_DAYS + 1
    signal_from = flow_from + RotationConfig().lookback_days + 1
    resources = {"database": DatabaseResource(url=database_url)}
    for keys, window in (
        (["sector_money_flow"], days[flow_from:]),
        (["rotation_signal", "short_overheat", "overheat_candidates"], days[signal_from:]),
        (["rotation_scorecard"], None),
    ):
        assert materialize_selection(keys, resources, days=window, quiet=True).success
