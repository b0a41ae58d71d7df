"""Acceptance: the Dagster ingest assets (dagster.materialize, real PostgreSQL) against a simulator that
behaves like live KIS — a clock with publication times, and a universe that lists, halts and delists.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import dagster as dg
import httpx
import pytest

from kis_intel_assets.analytics import SECTOR_FLOW_LOOKBACK_DAYS
from kis_intel_assets.defs.ingest.checks import table_checks
from kis_intel_assets.defs.selection import materialize_selection, range_tags
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.pages import serving
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.clock import Publication
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.backfill_harness import (
    INGEST_ASSETS,
    INGEST_TRUTH,
    QUIET,
    compare_frames,
    compare_ingest_tables,
    kis_resources,
    load_universe,
    table_frame,
)

RATE = 100.0  # the most a client budget may be (ratelimit.MAX_BUDGET_PER_SEC)
TODAY = date(2025, 6, 30)


def materialize(resources: dict[str, object], days: list[date]) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*INGEST_ASSETS, *table_checks],
        resources=resources,
        tags=range_tags(days),
        raise_on_error=False,
        run_config=QUIET,
    )


def unavailable(database_url: str) -> list[tuple[str, date, str, str]]:
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT table_name, day, kind, reason FROM ingest_unavailable ORDER BY table_name, day"
        ).fetchall()


def check_results(run: dg.ExecuteInProcessResult, name: str) -> dict[str, bool]:
    """Per asset: whether the check passed on every day it was evaluated for."""
    passed: dict[str, bool] = {}
    for e in run.get_asset_check_evaluations():
        if e.check_name == name:
            asset = e.asset_key.to_user_string()
            passed[asset] = passed.get(asset, True) and e.passed
    return passed


def test_a_1500_run_for_today_succeeds_and_the_1640_run_completes_the_day(database_url: str) -> None:
    config = SimulatorConfig(
        seed=5, n_symbols=8, start=date(2025, 1, 2), end=TODAY, rate_limit_per_sec=RATE,
        now=datetime(2025, 6, 30, 15, 0),
    )  # fmt: skip
    with running_simulator(config) as sim:
        resources = kis_resources(sim, database_url, "PSpublication", rate_limit_per_sec=RATE)
        assert load_universe(resources).success
        early = materialize(resources, [TODAY])
        assert early.success, early.all_events
        gaps = unavailable(database_url)
        assert {table for table, *_ in gaps} == {
            "daily_prices", "investor_trends", "short_selling", "program_trading", "program_trading_market"
        }  # fmt: skip
        investor = next(reason for table, _, _, reason in gaps if table == "investor_trends")
        assert "TIME LIMIT 00:00 ~ 15:40" in investor and "15:41" in investor
        metadata = [
            m.metadata["unavailable_days"].value
            for m in (e.materialization for e in early.get_asset_materialization_events())
            if m.asset_key.to_user_string() == "investor_trends"
        ]
        assert metadata and "2025-06-30" in metadata[0]["investor_trends"]
        assert not any(check_results(early, "served_by_kis").values())  # WARN: today is not served yet
        assert all(check_results(early, "partition_not_empty").values())  # ...which is not a gap
        for table in ("daily_prices", "investor_trends", "short_selling", "program_trading"):
            with connect(database_url) as conn:
                assert fetch_frame(conn, f"SELECT * FROM {table}").empty, table  # no running candle stored

        # KIS refuses even past days before 15:41 here (time_limit_scope "all"): a backfill then fails that
        # one step with KIS's reason instead of recording the days as done; the other datasets are written.
        week = trading_days(date(2025, 6, 24), TODAY)
        refused = materialize(resources, week)
        failures = [e.step_failure_data.error.message for e in refused.all_events if e.is_step_failure]
        assert (
            len(failures) == 1 and "FHPTJ04160001 → investor_trends: KIS refused 4 past day(s)" in failures[0]
        )
        assert "TIME LIMIT 00:00 ~ 15:40" in failures[0]

        sim.set_now(datetime(2025, 6, 30, 16, 40))
        late = materialize(resources, [TODAY])
        assert late.success
        assert unavailable(database_url) == []
        assert all(check_results(late, "served_by_kis").values())
        # Every table equals the truth: the whole week where the refused run wrote it, today for investors.
        for table, (truth, keys) in INGEST_TRUTH.items():
            first = TODAY if table == "investor_trends" else week[0]
            stored = table_frame(database_url, table)
            comparison = compare_frames(table, stored, truth(sim, first, TODAY), keys)
            assert comparison.exact, comparison


@pytest.mark.parametrize("form", ["rt7", "empty_row"])  # all three forms: kis/test_no_data.py
def test_a_backfill_across_a_listing_a_halt_and_a_delisting_equals_ground_truth(
    database_url: str, form: str
) -> None:
    start, end = date(2025, 3, 3), TODAY
    config = SimulatorConfig(
        seed=3, n_symbols=10, start=start, end=end, rate_limit_per_sec=RATE, no_data_form=form,
        listings_per_year=2500, delistings_per_year=2500, halts_per_year=2500,
    )  # fmt: skip
    with running_simulator(config) as sim:
        events = sim.truth.listing_events()
        assert set(events["kind"]) == {"listing", "delisting", "halt"}
        # The universe is refreshed while every delisted stock was still listed and again at the end, as
        # the daily refresh would have seen it.
        sim.set_now(
            datetime.combine(min(events.loc[events["kind"] == "delisting", "last"]), datetime.min.time())
        )
        resources = kis_resources(sim, database_url, f"PSuniverse{form}", rate_limit_per_sec=RATE)
        assert load_universe(resources).success
        sim.set_now(None)
        assert load_universe(resources).success
        run = materialize(resources, trading_days(start, end))
        assert run.success, [e.message for e in run.all_events if e.is_step_failure]
        comparisons = compare_ingest_tables(sim, database_url, start, end)
        for comparison in comparisons:
            assert comparison.exact, comparison
        assert all(check_results(run, "coverage_vs_universe").values())  # unlisted days are not missing
        halted = events[events["kind"] == "halt"].iloc[0]
        with connect(database_url) as conn:
            volumes = conn.execute(
                "SELECT volume FROM daily_prices WHERE symbol = %s AND time BETWEEN %s AND %s",
                (halted["symbol"], halted["first"], halted["last"]),
            ).fetchall()
        assert volumes and all(v == 0 for (v,) in volumes)


def test_sectors_with_the_same_kis_code_in_both_markets_stay_apart_in_the_analytics(
    database_url: str,
) -> None:
    days = trading_days(date(2025, 1, 2), TODAY)[-(SECTOR_FLOW_LOOKBACK_DAYS + 1) :]  # what one day reads
    config = SimulatorConfig(seed=5, n_symbols=40, start=date(2025, 1, 2), end=TODAY, rate_limit_per_sec=RATE)
    with running_simulator(config) as sim:
        resources = kis_resources(sim, database_url, "PSsectors", rate_limit_per_sec=RATE)
        assert load_universe(resources).success
        ingest = ["daily_prices", "investor_trends"]  # what sector_money_flow reads
        assert materialize_selection(ingest, resources, days=days, quiet=True).success
        assert materialize_selection(["sector_money_flow"], resources, days=days[-1:], quiet=True).success
    with connect(database_url) as conn:
        master = fetch_frame(conn, "SELECT symbol, market, sector_code, sector_kis_code FROM stock_master")
        flow = fetch_frame(
            conn, "SELECT sector_code, market, member_count FROM sector_rotation WHERE time = %s", (TODAY,)
        )
    shared = master.groupby("sector_kis_code")["market"].nunique()
    shared = shared[shared == 2].index
    assert len(shared) > 0, "the universe must have a 3-digit code used in both markets"
    expected = master.groupby(["sector_code", "market"]).size().rename("member_count").reset_index()
    stored = flow.sort_values("sector_code").reset_index(drop=True)
    assert stored.equals(expected.sort_values("sector_code").reset_index(drop=True)[stored.columns])
    for code in shared:
        both = stored[stored["sector_code"].str[1:] == code]
        assert sorted(both["market"]) == ["KOSDAQ", "KOSPI"]  # two sectors, not one merged
    with serving(database_url) as base:
        page = httpx.get(f"{base}/sectors", params={"date": TODAY.isoformat()}, timeout=30).text
    rows = re.findall(r'<tr data-sector="([0-9]+)"><td>([^<]+)</td><td>([A-Z]+)</td>', page)
    assert sorted(code for code, _, _ in rows) == sorted(
        expected["sector_code"]
    )  # one row per (market, code)
    for code in shared:
        assert {market for c, _, market in rows if c[1:] == code} == {"KOSPI", "KOSDAQ"}


def test_a_backfill_older_than_eight_months_says_which_days_kis_cannot_serve(database_url: str) -> None:
    days = trading_days(date(2024, 10, 25), date(2024, 11, 5))  # KIS's today 2025-06-30: floor 2024-10-30
    config = SimulatorConfig(seed=5, n_symbols=6, start=date(2024, 10, 1), end=TODAY, rate_limit_per_sec=RATE)
    with running_simulator(config) as sim:
        resources = kis_resources(sim, database_url, "PShistory", rate_limit_per_sec=RATE)
        assert load_universe(resources).success
        run = dg.materialize(
            [INGEST_ASSETS[-1], *table_checks], resources=resources, tags=range_tags(days), run_config=QUIET
        )
        assert run.success
        stored = table_frame(database_url, "program_trading_market")
        expected = sim.truth.program_trading_market(date(2024, 10, 31), days[-1])
    assert compare_frames("program_trading_market", stored, expected, ["market", "trade_type", "time"]).exact
    beyond = [d for d in days if d <= date(2024, 10, 30)]
    assert [(t, d, k) for t, d, k, _ in unavailable(database_url)] == [
        ("program_trading_market", d, "beyond_history") for d in beyond
    ]
    # The market table's own check warns for those days; the per-stock table was served every day.
    served = [(e.asset_key.to_user_string(), e.partition, e.passed) for e in run.get_asset_check_evaluations()
              if e.check_name == "served_by_kis"]  # fmt: skip
    assert sorted((a, p) for a, p, passed in served if not passed) == [
        ("program_trading_market", d.isoformat()) for d in beyond
    ]
    assert len(served) == 2 * len(days)
    assert check_results(run, "markets_complete") == {"program_trading_market": True}  # beyond = unavailable
    (metadata, *_) = [  # one per partition
        e.materialization.metadata
        for e in run.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("program_trading_market")
    ]
    listed = metadata["unavailable_days"].value["program_trading_market"]
    assert sorted(listed) == [d.isoformat() for d in beyond] and "8개월" in next(iter(listed.values()))


def test_short_selling_published_after_the_1640_run_is_reported_then_filled(database_url: str) -> None:
    """KIS's short-selling publication time is unknown: later than the client assumes (15:40) it must
    still not be a gap nor a failure, and a re-run once it is out fills the day."""
    config = SimulatorConfig(
        seed=5, n_symbols=6, start=date(2025, 3, 3), end=TODAY, rate_limit_per_sec=RATE,
        now=datetime(2025, 6, 30, 16, 40), publication={"FHPST04830000": Publication(time(17, 0), "blank")},
    )  # fmt: skip
    short_selling = INGEST_ASSETS[2]
    with running_simulator(config) as sim:
        resources = kis_resources(sim, database_url, "PSlateshort", rate_limit_per_sec=RATE)
        assert load_universe(resources).success
        first = dg.materialize(
            [short_selling], resources=resources, partition_key="2025-06-30", run_config=QUIET
        )
        assert first.success
        ((table, day, kind, reason),) = unavailable(database_url)
        assert (table, day, kind) == (
            "short_selling",
            TODAY,
            "unpublished",
        ) and "no stock has a row" in reason
        sim.set_now(datetime(2025, 6, 30, 17, 0))
        assert dg.materialize([short_selling], resources=resources, partition_key="2025-06-30").success
        stored = table_frame(database_url, "short_selling")
        truth = sim.truth.short_selling(TODAY, TODAY)
    assert compare_frames("short_selling", stored, truth, ["symbol", "time"]).exact
    assert unavailable(database_url) == []
