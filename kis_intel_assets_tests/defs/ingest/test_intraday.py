"""Intraday provisional flows: stored labelled provisional, then superseded by the final daily data."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import stock_universe
from kis_intel_assets.defs.ingest.intraday import intraday_schedule
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.krx_calendar import is_trading_day
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.simulators import simulator_resources

TODAY = datetime.now(SEOUL).date()


def test_snapshots_are_provisional_until_the_daily_data_supersedes_them(database_url: str) -> None:
    if not is_trading_day(TODAY):
        pytest.skip(f"{TODAY} is not a KRX trading day: KIS serves no session to snapshot")
    config = SimulatorConfig(seed=3, n_symbols=12, start=TODAY - timedelta(days=120), end=TODAY,
                             rate_limit_per_sec=100.0)  # fmt: skip
    with running_simulator(config) as sim:
        resources = simulator_resources(
            sim, database_url, "intraday-key", "intraday-secret", rate_limit_per_sec=100.0
        )
        assert dg.materialize([stock_universe], resources=resources).success
        watchlist = sim.truth.symbols()[:3]
        run_config = {"ops": {"intraday_flows": {"config": {"symbols": watchlist}}}}
        result = materialize_selection(["intraday_program_trading"], resources, run_config=run_config)
        assert result.success
        with connect(database_url) as conn:
            program = fetch_frame(conn, "SELECT * FROM intraday_program_trading ORDER BY symbol, time")
            estimates = fetch_frame(conn, "SELECT * FROM intraday_investor_estimates")

        assert sorted(set(program["symbol"])) == sorted(watchlist)
        assert program["provisional"].all() and not program["superseded"].any()
        assert {t.astimezone(SEOUL).date() for t in program["time"]} == {TODAY}
        assert (program["program_buy"] - program["program_sell"] == program["program_net"]).all()
        assert set(estimates["market"]) == {"KOSPI", "KOSDAQ"}
        # One materialization per table (the multi-asset runs whole when one of its tables is selected).
        materialized = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("intraday_flows")
        }
        assert set(materialized) == {"intraday_program_trading", "intraday_investor_estimates"}
        for table, frame in (
            ("intraday_program_trading", program),
            ("intraday_investor_estimates", estimates),
        ):
            metadata = materialized[table]
            assert metadata["provisional"].value is True and metadata["rows"].value == len(frame), table

        assert materialize_selection(
            ["program_trading", "investor_trends"], resources, partition_key=TODAY.isoformat()
        ).success
        with connect(database_url) as conn:
            flags = fetch_frame(
                conn,
                """SELECT bool_and(superseded) AS program FROM intraday_program_trading
                   UNION ALL SELECT bool_and(superseded) FROM intraday_investor_estimates""",
            )
        assert flags["program"].tolist() == [True, True]


@pytest.mark.parametrize(
    ("moment", "runs"),
    [("2025-06-02 09:00", True), ("2025-06-02 15:30", True), ("2025-06-02 15:31", False),
     ("2025-06-02 08:59", False), ("2025-06-03 10:00", False)],  # 06-03: election day, market closed
)  # fmt: skip
def test_the_intraday_schedule_runs_only_in_the_session(moment: str, runs: bool) -> None:
    when = datetime.strptime(moment, "%Y-%m-%d %H:%M").replace(tzinfo=SEOUL)
    result = intraday_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    assert isinstance(result, dg.RunRequest) is runs, result
