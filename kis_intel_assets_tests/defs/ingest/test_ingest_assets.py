"""Ingestion assets materialized with Dagster against the KIS simulator and a real PostgreSQL.

Stored rows are compared with the simulator's ground truth column by column; the call counts of a
backfill are compared with what range paging should cost; bad payloads must fail the blocking check
without touching the table.
"""

from __future__ import annotations

import math
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.ingest.checks import table_checks
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.simulators import (
    dagster_materialize_command,
    simulator_environment,
    simulator_resources,
)

RATE = 100.0  # the most a key may be given
PARTITION = "2025-06-02"
SIM_START, SIM_END = date(2024, 6, 3), date(2025, 6, 30)


# ##### FIXTURES


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    config = SimulatorConfig(seed=11, n_symbols=12, start=SIM_START, end=SIM_END, rate_limit_per_sec=RATE)
    with running_simulator(config) as sim:
        yield sim


def resources(sim: Simulator, database_url: str, app_key: str) -> dict[str, object]:
    return simulator_resources(sim, database_url, app_key, rate_limit_per_sec=RATE, fetch_workers=4)


def load_universe(sim: Simulator, database_url: str, app_key: str) -> None:
    assert dg.materialize([stock_universe], resources=resources(sim, database_url, app_key)).success


def table(database_url: str, name: str, order: str) -> pd.DataFrame:
    with connect(database_url) as conn:
        return fetch_frame(conn, f"SELECT * FROM {name} ORDER BY {order}")


def assert_same_rows(stored: pd.DataFrame, truth: pd.DataFrame, keys: list[str]) -> None:
    assert len(stored) > 0
    stored = stored[list(truth.columns)].sort_values(keys).reset_index(drop=True)
    truth = truth.sort_values(keys).reset_index(drop=True)
    stored = stored.astype(object).where(stored.notna(), None)
    truth = truth.astype(object).where(truth.notna(), None)
    pd.testing.assert_frame_equal(stored, truth, check_dtype=False)


# ##### TESTS


def test_universe_matches_the_master_files_and_current_classification(
    simulator: Simulator, database_url: str
) -> None:
    load_universe(simulator, database_url, "universe-key")

    stored = table(database_url, "stock_master", "symbol")
    truth = simulator.truth.stock_master().sort_values("valid_from").groupby("symbol").tail(1)
    assert sorted(stored["symbol"]) == sorted(simulator.truth.symbols())
    merged = stored.merge(truth, on="symbol", suffixes=("", "_truth"))
    for column in ("name", "market", "sector_code", "sector_name", "listed_shares"):
        assert (merged[column] == merged[f"{column}_truth"]).all(), column


def test_each_daily_asset_stores_exactly_the_ground_truth(simulator: Simulator, database_url: str) -> None:
    load_universe(simulator, database_url, "daily-key")
    day = date.fromisoformat(PARTITION)
    result = dg.materialize(
        [daily_prices, investor_trends, short_selling, program_trading, *table_checks],
        resources=resources(simulator, database_url, "daily-key"),
        partition_key=PARTITION,
    )

    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    truth = simulator.truth
    keys = ["symbol", "time"]
    assert_same_rows(table(database_url, "daily_prices", "symbol"), truth.daily_prices(day, day), keys)
    assert_same_rows(table(database_url, "investor_trends", "symbol"), truth.investor_trends(day, day), keys)
    assert_same_rows(table(database_url, "short_selling", "symbol"), truth.short_selling(day, day), keys)
    assert_same_rows(table(database_url, "program_trading", "symbol"), truth.program_trading(day, day), keys)
    assert_same_rows(
        table(database_url, "program_trading_market", "market, trade_type"),
        truth.program_trading_market(day, day),
        ["market", "trade_type", "time"],
    )
    metadata = result.asset_materializations_for_node("investor_trends")[0].metadata
    assert metadata["rows"].value == len(simulator.truth.symbols())
    assert metadata["requests"].value == len(simulator.truth.symbols())
    # program_trading_market is an asset of its own with its own table checks, run here without a fetch.
    with connect(database_url) as conn:
        conn.execute("DELETE FROM program_trading_market WHERE market = 'KOSDAQ' AND trade_type = 'total'")
    (market_checks,) = [c for c in table_checks if c.node_def.name == "program_trading_market_table_checks"]
    rechecked = materialize_selection(
        [], resources(simulator, database_url, "daily-key"), checks=[market_checks], days=[day]
    )
    (complete,) = [e for e in rechecked.get_asset_check_evaluations() if e.check_name == "markets_complete"]
    assert not complete.passed and complete.metadata["missing"].value == ["KOSDAQ total"]


def test_a_backfill_costs_range_paged_calls_not_one_per_day(simulator: Simulator, database_url: str) -> None:
    load_universe(simulator, database_url, "backfill-key")
    days = trading_days(date(2024, 12, 2), date(2025, 5, 30))
    assert len(days) > 100  # long enough to need a second page everywhere
    before = len(simulator.stats.requests())

    result = dg.materialize(
        [daily_prices, investor_trends, short_selling, program_trading],
        resources=resources(simulator, database_url, "backfill-key"),
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )

    assert result.success
    calls = Counter(r.tr_id for r in simulator.stats.requests()[before:])
    symbols = len(simulator.truth.symbols())
    pages = {  # rows per call as KIS is known to answer (simulator/paging.py): 100, or 30 sessions back
        tr_id: math.ceil(len(days) / simulator.config.rows_per_call(tr_id))
        for tr_id in ("FHKST03010100", "FHPTJ04160001", "FHPST04830000", "FHPPG04650201", "FHPPG04600001")
    }
    assert pages["FHPTJ04160001"] > pages["FHKST03010100"] > 1
    assert calls == {tr_id: (2 if tr_id == "FHPPG04600001" else symbols) * n for tr_id, n in pages.items()}
    stored = table(database_url, "investor_trends", "symbol, time")
    assert_same_rows(stored, simulator.truth.investor_trends(days[0], days[-1]), ["symbol", "time"])


def test_a_bad_field_fails_the_blocking_check_and_writes_nothing(
    simulator: Simulator, database_url: str
) -> None:
    load_universe(simulator, database_url, "bad-field-key")
    target = simulator.truth.symbols()[3]
    res = resources(simulator, database_url, "bad-field-key")
    assert dg.materialize([short_selling], resources=res, partition_key="2025-05-30").success
    before = table(database_url, "short_selling", "symbol, time")

    # seed 0 corrupts the registered ssts_vol_rlim (of the 21 documented fields) in the first row
    simulator.set_faults(FaultSpec.parse(f"bad_field@FHPST04830000:{target}=1", seed=0))
    try:
        result = dg.materialize([short_selling], resources=res, partition_key=PARTITION, raise_on_error=False)
    finally:
        simulator.set_faults(None)

    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "schema_valid"
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "FHPST04830000" in evaluation.description
    assert target in evaluation.description
    assert "field" in evaluation.description
    assert not result.asset_materializations_for_node("short_selling")
    pd.testing.assert_frame_equal(table(database_url, "short_selling", "symbol, time"), before)


def test_the_dagster_cli_materializes_one_partition(simulator: Simulator, database_url: str) -> None:
    load_universe(simulator, database_url, "cli-key")
    env = simulator_environment(simulator, database_url, "cli-key", "test-app-secret", RATE)
    completed = subprocess.run(
        dagster_materialize_command("daily_prices", "--partition", PARTITION),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    stored = table(database_url, "daily_prices", "symbol")
    day = date.fromisoformat(PARTITION)
    assert_same_rows(stored, simulator.truth.daily_prices(day, day), ["symbol", "time"])
