"""The analytics automation conditions, evaluated by Dagster's own evaluator on an instance that holds a
year of materializations: a backfill of ten ingest days asks for exactly the analytics partitions whose
trailing windows contain them, all in one tick (so the daemon emits one backfill, not a run per day), and
the scorecard follows only once the signals have landed.

History is recorded as runless materializations: what is tested is which partitions the conditions
request, not the assets' computation (test_automation_chain.py runs the whole chain for real).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg
from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests

from kis_intel_assets.analytics.mfi import DEFAULT_PERIOD
from kis_intel_assets.analytics.sector_flow import SECTOR_FLOW_LOOKBACK_DAYS
from kis_intel_assets.analytics.short_overheat import BASELINE_DAYS
from kis_intel_assets.definitions import defs
from kis_intel_assets.defs.analytics.assets import CONCENTRATION, ROTATION
from kis_intel_assets.krx_calendar import trading_days

HISTORY = [d.isoformat() for d in trading_days(date(2024, 6, 3), date(2025, 6, 27))]
BACKFILLED = slice(150, 160)  # ten trading days re-ingested in one backfill
INGEST = ["daily_prices", "investor_trends", "short_selling", "program_trading"]
LOOKBACK = {
    "stock_money_flow_index": DEFAULT_PERIOD,
    "sector_money_flow": SECTOR_FLOW_LOOKBACK_DAYS,
    "short_overheat": BASELINE_DAYS + 1,
    "overheat_candidates": BASELINE_DAYS + 1,
    "concentrated_buying": CONCENTRATION.lookback_days,
}
DAILY_ANALYTICS = [*LOOKBACK, "rotation_signal"]


def record(instance: dg.DagsterInstance, assets: Sequence[str], partitions: Sequence[str | None]) -> None:
    for name in assets:
        for partition in partitions:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=name, partition=partition))


def affected(first: int, last: int, lookback: int) -> set[str]:
    """Partitions whose window [day - lookback, day] contains a day of HISTORY[first..last]."""
    return set(HISTORY[first : min(last + lookback, len(HISTORY) - 1) + 1])


def test_an_ingest_backfill_requests_each_affected_analytics_partition_once_in_one_tick() -> None:
    instance = dg.DagsterInstance.ephemeral()
    record(instance, ["stock_universe", "rotation_scorecard"], [None])
    record(instance, [*INGEST, *DAILY_ANALYTICS], HISTORY)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # the first evaluation records where the graph stands

    record(instance, ["stock_universe"], [None])  # the morning refresh alone recomputes nothing
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert quiet.total_requested == 0

    record(instance, INGEST, HISTORY[BACKFILLED])
    start, end = BACKFILLED.start, BACKFILLED.stop - 1
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    for name, lookback in LOOKBACK.items():
        assert tick.get_requested_partitions(dg.AssetKey(name)) == affected(start, end, lookback), name
    sector_end = min(end + SECTOR_FLOW_LOOKBACK_DAYS, len(HISTORY) - 1)
    signals = tick.get_requested_partitions(dg.AssetKey("rotation_signal"))
    assert signals == affected(start, sector_end, ROTATION.lookback_days)
    assert tick.get_requested_partitions(dg.AssetKey("rotation_transition")) == signals  # written together
    assert not tick.get_requested_partitions(dg.AssetKey("rotation_scorecard"))  # signals not landed yet

    requests = build_run_requests(
        tick._requested_subsets, defs.resolve_asset_graph(), None, emit_backfills=True
    )
    assert len(requests) == 1 and requests[0].requires_backfill_daemon()  # one backfill for every day

    record(instance, ["rotation_signal"], sorted(signals))
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert after.get_requested_partitions(dg.AssetKey("rotation_scorecard")) == {None}
    assert all(not after.get_requested_partitions(dg.AssetKey(name)) for name in DAILY_ANALYTICS)
