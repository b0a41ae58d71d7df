"""Analytics assets over data ingested from the simulator: they read their trailing windows from
PostgreSQL through the partition mappings and write what the pure functions compute, partition by partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets import analytics
from kis_intel_assets.defs.analytics import reads
from kis_intel_assets.defs.analytics.assets import FLOW_COLUMNS, PRICE_COLUMNS, overheat_stock_days
from kis_intel_assets.defs.analytics.checks import analytics_checks
from kis_intel_assets.defs.ingest.assets import stock_universe
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.databases import scratch_database
from kis_intel_assets_tests.support.simulators import simulator_resources

RATE = 100.0  # the most a key may be given
SIGNALS_OF_DAY = "SELECT * FROM rotation_signal WHERE time = %s ORDER BY sector_code"
INGEST_DAYS = trading_days(date(2024, 9, 2), date(2025, 6, 30))
FLOW_DAYS = INGEST_DAYS[60:]  # sector flow reads 59 earlier days
ANALYTICS_DAYS = INGEST_DAYS[-15:]  # rotation reads 74 earlier days of sector flow


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    config = SimulatorConfig(
        seed=5, n_symbols=40, start=date(2024, 6, 3), end=date(2025, 6, 30), rate_limit_per_sec=RATE
    )
    with running_simulator(config) as sim:
        yield sim


INGEST = ["daily_prices", "investor_trends", "short_selling", "program_trading"]


def run(keys: list[str], resources: dict, **kwargs: object) -> dg.ExecuteInProcessResult:
    return materialize_selection(keys, resources, **kwargs)


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """One database for the module: ingesting ~200 trading days once keeps these tests fast."""
    with scratch_database(postgres_server_url, "kis_test_analytics", migrated_template) as url:
        yield url


@pytest.fixture(scope="module")
def ingested(simulator: Simulator, database_url: str) -> dict[str, object]:
    resources = simulator_resources(
        simulator, database_url, "analytics-key", "analytics-secret", rate_limit_per_sec=RATE
    )
    assert dg.materialize([stock_universe], resources=resources).success
    assert run(INGEST, resources, days=INGEST_DAYS).success
    assert run(["sector_money_flow"], resources, days=FLOW_DAYS).success
    return resources


def test_range_run_writes_what_the_pure_functions_compute(ingested: dict, database_url: str) -> None:
    result = run(
        ["stock_money_flow_index", "rotation_signal", "short_overheat", "concentrated_buying"],
        ingested,
        days=ANALYTICS_DAYS,
    )
    assert result.success

    with connect(database_url) as conn:
        master = reads.stock_master(conn)
        prices = reads.window(
            conn, "daily_prices", ["time", "symbol", "high", "low", "close", "volume", "trading_value"],
            INGEST_DAYS[0], INGEST_DAYS[-1],
        )  # fmt: skip
        flows = reads.window(
            conn, "investor_trends", ["time", "symbol", "foreign_net_value", "institution_net_value",
                                      "retail_net_value"], INGEST_DAYS[0], INGEST_DAYS[-1],
        )  # fmt: skip
        stored = fetch_frame(conn, "SELECT * FROM sector_rotation ORDER BY sector_code, time")
        designations = fetch_frame(conn, "SELECT count(*) AS n FROM short_overheat")
        signals = fetch_frame(conn, "SELECT * FROM rotation_signal ORDER BY sector_code, time")
        mfi_days = fetch_frame(conn, "SELECT DISTINCT time FROM stock_mfi ORDER BY time")

    expected = analytics.sector_money_flow(master, prices, flows)
    expected["time"] = pd.to_datetime(expected["time"]).dt.date
    expected = expected[expected["time"] >= FLOW_DAYS[0]].sort_values(["sector_code", "time"])
    assert set(stored["time"]) == set(FLOW_DAYS)
    assert len(stored) == len(expected)
    for column in ("foreign_flow", "institution_flow", "individual_flow", "market_cap", "member_count"):
        assert stored[column].astype(float).tolist() == expected[column].astype(float).tolist(), column
    assert stored["money_flow_index"].tolist() == pytest.approx(
        expected["money_flow_index"].round(2).tolist(), nan_ok=True
    )
    assert set(signals["signal"]) <= {"INFLOW", "OUTFLOW", "NEUTRAL"}
    assert set(signals["time"]) == set(ANALYTICS_DAYS)
    assert signals["rs_ratio"].notna().all()  # the mapping supplied enough history for every RRG value
    assert mfi_days["time"].tolist() == ANALYTICS_DAYS

    per_day = {
        (m.asset_key.to_user_string(), m.partition): m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node("rotation_signal")
    }
    stored = signals.groupby("time").size()
    assert {day: per_day["rotation_signal", day.isoformat()] for day in ANALYTICS_DAYS} == stored.to_dict()
    assert ("rotation_transition", ANALYTICS_DAYS[0].isoformat()) in per_day  # one asset per table
    metadata = result.asset_materializations_for_node("rotation_signal")[0].metadata
    assert metadata["rotation_view"].value.endswith(f"/rotation?date={ANALYTICS_DAYS[-1].isoformat()}")
    assert "|" in metadata["latest"].value  # a markdown table the Dagster UI renders
    assert designations["n"][0] >= 0


def test_pipeline_signals_equal_the_pure_recompute_on_the_same_database(
    ingested: dict, database_url: str
) -> None:
    """Issue 16, defect 3: flow_z20 stored as numeric(8, 2) turned z = 0.9964 into 1.00 and NEUTRAL into
    INFLOW. The signals the pipeline stores must be what the pure functions give on the raw tables."""
    assert run(["rotation_signal"], ingested, days=ANALYTICS_DAYS).success
    with connect(database_url) as conn:
        master = reads.stock_master(conn)
        prices = reads.window(conn, "daily_prices", PRICE_COLUMNS, INGEST_DAYS[0], INGEST_DAYS[-1])
        flows = reads.window(conn, "investor_trends", FLOW_COLUMNS, INGEST_DAYS[0], INGEST_DAYS[-1])
        stored = fetch_frame(
            conn,
            "SELECT * FROM rotation_signal WHERE time >= %s ORDER BY sector_code, time",
            (ANALYTICS_DAYS[0],),
        )

    flow = analytics.sector_money_flow(master, prices, flows)
    first_read = INGEST_DAYS[INGEST_DAYS.index(ANALYTICS_DAYS[0]) - analytics.RotationConfig().lookback_days]
    flow = flow[flow["time"] >= pd.Timestamp(first_read)]
    expected = analytics.rotation_signals(flow)
    expected = expected[expected["time"] >= pd.Timestamp(ANALYTICS_DAYS[0])].reset_index(drop=True)

    assert len(stored) == len(expected) > 100
    for column in ("sector_code", "signal", "signal_method", "price_signal", "quadrant", "reason"):
        assert stored[column].tolist() == expected[column].tolist(), column
    for column in ("score", "price_score", "rs_ratio", "rs_momentum", "flow_z20"):
        assert stored[column].astype(float).tolist() == pytest.approx(
            expected[column].tolist(), rel=1e-12, abs=1e-12, nan_ok=True
        ), column


def test_one_partition_alone_equals_the_same_day_inside_a_range(ingested: dict, database_url: str) -> None:
    day = ANALYTICS_DAYS[-1]
    assets = ["sector_money_flow", "rotation_signal"]
    assert run(["rotation_signal"], ingested, days=ANALYTICS_DAYS).success
    with connect(database_url) as conn:
        in_range = fetch_frame(
            conn, "SELECT * FROM rotation_signal WHERE time = %s ORDER BY sector_code", (day,)
        )
        conn.execute("DELETE FROM rotation_signal")
        conn.execute("DELETE FROM sector_rotation WHERE time = %s", (day,))
        conn.commit()

    assert run(assets, ingested, partition_key=day.isoformat()).success
    with connect(database_url) as conn:
        alone = fetch_frame(
            conn, "SELECT * FROM rotation_signal WHERE time = %s ORDER BY sector_code", (day,)
        )
    pd.testing.assert_frame_equal(alone, in_range)


def test_overheat_candidates_store_what_the_pure_function_computes_over_all_history(
    ingested: dict, database_url: str
) -> None:
    """Each day's watch list from its 41-day window equals the same days inside a recompute over all
    stored history (the pure function is causal), for the stock-days with a short_selling row."""
    assert run(["overheat_candidates"], ingested, days=ANALYTICS_DAYS).success
    with connect(database_url) as conn:
        master = reads.stock_master(conn)
        shorts = reads.window(
            conn, "short_selling", ["time", "symbol", "short_amount", "short_value_ratio"],
            INGEST_DAYS[0], INGEST_DAYS[-1],
        )  # fmt: skip
        prices = reads.window(
            conn,
            "daily_prices",
            ["time", "symbol", "close", "trading_value"],
            INGEST_DAYS[0],
            INGEST_DAYS[-1],
        )
        quarters = analytics.quarterly_short_ratio(reads.market_day_totals(conn))
        stored = fetch_frame(conn, "SELECT * FROM overheat_candidates ORDER BY time, symbol")

    expected = analytics.overheat_candidates(overheat_stock_days(master, shorts, prices), quarters)
    expected = expected.assign(time=expected["time"].dt.date)
    expected = expected[expected["time"] >= ANALYTICS_DAYS[0]].merge(shorts[["symbol", "time"]])
    expected = expected.sort_values(["time", "symbol"], ignore_index=True)
    assert set(stored["time"]) == set(ANALYTICS_DAYS)
    assert stored[["time", "symbol", "threshold_source"]].equals(
        expected[["time", "symbol", "threshold_source"]]
    )
    for column in ("closeness_pct", "quarter_ratio_threshold", "short_value_multiple", "drop_progress"):
        assert stored[column].tolist() == pytest.approx(expected[column].tolist()), column


def test_scorecard_reports_every_method_and_horizon(ingested: dict, database_url: str) -> None:
    assert run(["rotation_signal"], ingested, days=ANALYTICS_DAYS).success
    result = run(["rotation_scorecard"], ingested)

    assert result.success
    with connect(database_url) as conn:
        card = fetch_frame(conn, "SELECT method, horizon, n_signals FROM rotation_scorecard ORDER BY 1, 2")
    assert list(zip(card["method"], card["horizon"], strict=True)) == [
        ("momentum", 5), ("momentum", 20), ("placebo", 5), ("placebo", 20), ("price_only", 5),
        ("price_only", 20), ("signal", 5), ("signal", 20),
    ]  # fmt: skip


def test_missing_upstream_history_fails_naming_what_to_materialize(ingested: dict) -> None:
    day = FLOW_DAYS[0]  # rotation needs 74 earlier days of sector flow, which start only here
    result = run(["rotation_signal"], ingested, partition_key=day.isoformat(), raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error.message)
    assert "no sector_rotation rows for" in message
    assert "materialize sector_money_flow for them first" in message


def test_analytics_checks_pass_per_day_and_fail_the_day_a_sector_is_missing(
    ingested: dict, database_url: str
) -> None:
    days = ANALYTICS_DAYS[-5:]
    assert run(["rotation_signal"], ingested, days=days).success
    passed = materialize_selection([], ingested, days=days, checks=analytics_checks)
    evaluations = passed.get_asset_check_evaluations()
    assert len(evaluations) == 5 * len(days)  # two sector-flow and three signal checks per day
    assert {e.partition for e in evaluations} == {d.isoformat() for d in days}
    assert all(e.passed for e in evaluations), [e for e in evaluations if not e.passed]

    broken = days[2]
    with connect(database_url) as conn:
        (sector,) = conn.execute(
            "DELETE FROM sector_rotation WHERE time = %s AND sector_code = "
            "(SELECT min(sector_code) FROM sector_rotation WHERE time = %s) RETURNING sector_code",
            (broken, broken),
        ).fetchone()
    try:
        failed = materialize_selection([], ingested, days=days, checks=analytics_checks)
        by_day = {(e.check_name, e.partition): e for e in failed.get_asset_check_evaluations()}
        missing = by_day[("every_sector_present", broken.isoformat())]
        assert not missing.passed and missing.metadata["missing"].value == [sector]
        failures = [key for key, e in by_day.items() if not e.passed]
        assert failures == [("every_sector_present", broken.isoformat())]
    finally:
        assert run(["sector_money_flow"], ingested, days=[broken]).success


def test_without_flows_the_price_only_signal_runs_and_is_scored(ingested: dict, database_url: str) -> None:
    """Issue 16, defect 4: with no investor flows the pipeline used to stop ("rotation_signal is empty")."""
    with connect(database_url) as conn:
        conn.execute("DELETE FROM investor_trends")
        conn.execute("DELETE FROM rotation_signal")
        conn.commit()
    assert run(["sector_money_flow"], ingested, days=FLOW_DAYS).success
    assert run(["rotation_signal"], ingested, days=ANALYTICS_DAYS).success
    assert run(["rotation_scorecard"], ingested).success

    with connect(database_url) as conn:
        signals = fetch_frame(conn, "SELECT signal_method, signal, price_signal, reason FROM rotation_signal")
        card = fetch_frame(conn, "SELECT method, n_signals FROM rotation_scorecard WHERE horizon = 5")
    assert len(signals) > 100 and set(signals["signal_method"]) == {"price"}
    assert signals["signal"].tolist() == signals["price_signal"].tolist()
    assert signals["reason"].str.contains("price only").all()
    counts = dict(zip(card["method"], card["n_signals"], strict=True))
    assert counts["signal"] == counts["price_only"]
