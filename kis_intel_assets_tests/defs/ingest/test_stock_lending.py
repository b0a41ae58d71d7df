"""The stock_lending asset (HHPST074500C0) materialized with Dagster against the simulator and PostgreSQL:
a backfill equals the ground truth in every column at the range-paging floor of requests, a day KIS has
not published (the same evening, or the next trading day) is recorded as such and filled by a later
run, and a corrupted number fails the blocking check without writing."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets.defs.ingest.assets import stock_universe
from kis_intel_assets.defs.ingest.collect import ingest_symbol_dataset
from kis_intel_assets.defs.ingest.lending import STOCK_LENDING, stock_lending, stock_lending_checks
from kis_intel_assets.defs.resources import KISResource
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.clock import KST, Publication
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.simulators import simulator_resources

TR = "HHPST074500C0"
RATE = 100.0
SYMBOLS = 24
SIM_START, SIM_END = date(2024, 6, 3), date(2025, 6, 30)
COLUMNS = ["time", "symbol", "new_volume", "redeemed_volume", "balance_volume", "balance_amount"]


def sim_config(**overrides: object) -> SimulatorConfig:
    """A fixed universe (no listings or delistings), so every stock has a row every trading day."""
    settings: dict[str, object] = {
        "seed": 13,
        "n_symbols": SYMBOLS,
        "start": SIM_START,
        "end": SIM_END,
        "rate_limit_per_sec": RATE,
        "listings_per_year": 0.0,
        "delistings_per_year": 0.0,
    }
    return SimulatorConfig(**{**settings, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with running_simulator(sim_config()) as sim:
        yield sim


def resources(sim: Simulator, database_url: str, app_key: str) -> dict[str, object]:
    return simulator_resources(sim, database_url, app_key, rate_limit_per_sec=RATE, fetch_workers=4)


def range_tags(first: date, last: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def stored(database_url: str) -> pd.DataFrame:
    with connect(database_url) as conn:
        return fetch_frame(conn, "SELECT * FROM stock_lending ORDER BY symbol, time")


def assert_equals_truth(sim: Simulator, database_url: str, first: date, last: date) -> None:
    rows = stored(database_url)
    truth = sim.truth.stock_lending(first, last).sort_values(["symbol", "time"]).reset_index(drop=True)
    assert len(rows) == len(truth) == SYMBOLS * len(trading_days(first, last))
    pd.testing.assert_frame_equal(rows[COLUMNS].reset_index(drop=True), truth, check_dtype=False)
    assert set(rows["source"]) == {"KIS"}


def test_a_backfill_equals_truth_at_the_range_paging_floor(simulator: Simulator, database_url: str) -> None:
    res = resources(simulator, database_url, "lending-backfill")
    assert dg.materialize([stock_universe], resources=res).success
    days = trading_days(date(2024, 12, 2), date(2025, 5, 30))
    assert len(days) > 100  # two calls per symbol
    before = len(simulator.stats.requests())

    result = dg.materialize(
        [stock_lending, stock_lending_checks], resources=res, tags=range_tags(days[0], days[-1])
    )

    assert result.success
    assert_equals_truth(simulator, database_url, days[0], days[-1])
    calls = Counter(r.tr_id for r in simulator.stats.requests()[before:])
    assert calls == {TR: SYMBOLS * math.ceil(len(days) / 100)}  # 48: the floor, no retries
    materializations = result.asset_materializations_for_node("stock_lending")
    assert len(materializations) == len(days)  # one per partition of the single run
    assert materializations[0].metadata["requests"].value == 48
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} >= {"schema_valid", "partition_not_empty", "served_by_kis"}
    per_day = [e for e in evaluations if e.check_name == "partition_not_empty"]
    assert len(per_day) == len(days) and all(e.passed for e in evaluations)


@pytest.mark.parametrize(
    ("publication", "early", "late"),
    [
        (None, datetime(2025, 6, 30, 17, 0), datetime(2025, 6, 30, 18, 30)),  # the same evening at 18:00
        (
            {TR: Publication(time(8, 0), "absent", days_late=1)},
            datetime(2025, 6, 30, 16, 40),
            datetime(2025, 7, 1, 9, 0),
        ),  # the next trading day at 08:00
    ],
    ids=["same-evening", "next-day"],
)
def test_an_unpublished_day_is_recorded_then_filled(
    database_url: str, publication: dict[str, Publication] | None, early: datetime, late: datetime
) -> None:
    config = sim_config(end=date(2025, 7, 1), now=early, publication=publication)
    monday, week = date(2025, 6, 30), (date(2025, 6, 24), date(2025, 6, 30))
    with running_simulator(config) as sim:
        res = resources(sim, database_url, "lending-publication")
        assert dg.materialize([stock_universe], resources=res).success
        graph = [stock_lending, stock_lending_checks]
        first = dg.materialize(graph, resources=res, tags=range_tags(*week))
        assert first.success
        assert_equals_truth(sim, database_url, week[0], date(2025, 6, 27))  # Monday: no row, not a zero row
        with connect(database_url) as conn:
            unpublished = conn.execute(
                "SELECT day, kind FROM ingest_unavailable WHERE table_name = 'stock_lending'"
            ).fetchall()
        assert unpublished == [(monday, "unpublished")]
        served = {
            e.partition: e.passed
            for e in first.get_asset_check_evaluations()
            if e.check_name == "served_by_kis"
        }
        assert served[monday.isoformat()] is False and served["2025-06-27"] is True
        not_empty = [e for e in first.get_asset_check_evaluations() if e.check_name == "partition_not_empty"]
        assert len(not_empty) == 5 and all(e.passed for e in not_empty)

        sim.truth.model.clock.set(late.replace(tzinfo=KST))
        again = dg.materialize(graph, resources=res, partition_key=monday.isoformat())
        assert again.success
        assert_equals_truth(sim, database_url, *week)
        with connect(database_url) as conn:
            assert conn.execute("SELECT count(*) FROM ingest_unavailable").fetchone() == (0,)


def test_friday_before_its_next_day_publication_is_not_missing(database_url: str) -> None:
    """Monday 07:00 under next-day publication: Friday has no row for any stock yet. It is recorded as not
    published (the client allows a day's delay) instead of failing the run as a missing day."""
    next_day = {TR: Publication(time(8, 0), "absent", days_late=1)}
    config = sim_config(now=datetime(2025, 6, 30, 7, 0), publication=next_day)
    with running_simulator(config) as sim:
        res = resources(sim, database_url, "lending-friday")
        assert dg.materialize([stock_universe], resources=res).success
        result = dg.materialize([stock_lending], resources=res, partition_key="2025-06-27")
    assert result.success and stored(database_url).empty
    with connect(database_url) as conn:
        assert conn.execute("SELECT day, kind FROM ingest_unavailable").fetchall() == [
            (date(2025, 6, 27), "unpublished")
        ]


def test_a_corrupted_number_fails_the_blocking_check_and_writes_nothing(
    simulator: Simulator, database_url: str
) -> None:
    res = resources(simulator, database_url, "lending-bad-number")
    assert dg.materialize([stock_universe], resources=res).success
    target = simulator.truth.symbols()[5]
    simulator.set_faults(FaultSpec.parse(f"bad_number@{TR}:{target}/rmnd_stcn=1", seed=0))
    try:
        result = dg.materialize(
            [stock_lending], resources=res, partition_key="2025-06-02", raise_on_error=False
        )
    finally:
        simulator.set_faults(None)
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "schema_valid" and not evaluation.passed
    assert TR in evaluation.description and target in evaluation.description
    assert "rmnd_stcn" in evaluation.description
    assert stored(database_url).empty


def test_a_rerun_after_failed_symbols_asks_only_for_them(simulator: Simulator, database_url: str) -> None:
    """The fetch cache keeps every answered symbol of the window: the re-run asks KIS only for the two
    that failed, then writes the whole window (equal to the truth) and empties the cache."""
    res = resources(simulator, database_url, "lending-resume")
    assert dg.materialize([stock_universe], resources=res).success
    days = trading_days(date(2025, 4, 30), date(2025, 5, 30))
    assert len(days) >= 20
    symbols = sorted(simulator.truth.symbols())
    failing = symbols[-2:]

    def run() -> dg.MaterializeResult:
        kis: KISResource = res["kis"]  # type: ignore[assignment]
        with kis.client() as client:
            return ingest_symbol_dataset(
                dg.build_asset_context(),
                client,
                res["database"],  # type: ignore[arg-type]
                STOCK_LENDING,
                symbols,
                days[0],
                days[-1],
                kis.fetch_workers,
            )

    simulator.set_faults(FaultSpec.parse(",".join(f"http5xx@{TR}:{symbol}=1" for symbol in failing)))
    try:
        with pytest.raises(dg.Failure, match=f"2 of {SYMBOLS} symbols failed after retries"):
            run()
    finally:
        simulator.set_faults(None)
    assert stored(database_url).empty
    before = len(simulator.stats.requests())
    rerun = run()
    asked = Counter(r.symbol for r in simulator.stats.requests()[before:])
    assert asked == {symbol: 1 for symbol in failing}
    assert rerun.metadata["symbols_from_earlier_run"] == SYMBOLS - 2
    assert_equals_truth(simulator, database_url, days[0], days[-1])
