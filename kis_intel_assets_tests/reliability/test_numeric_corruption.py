"""A number that is well formed but wrong (the simulator's `bad_number` fault: 3 × value + 7 in the last
digit) is rejected by the blocking `schema_valid` check, named by TR ID, symbol and field, and nothing is
written. Before the cross-field checks each of these runs wrote the corrupted rows with the check passing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd
import pandera.errors as pa_errors
import pytest

from kis_intel_assets.defs.ingest import schemas
from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.kis.endpoints import ENDPOINTS
from kis_intel_assets.simulator import FaultSpec, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.fault_effects import tripled_and_shifted
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.databases import scratch_database
from kis_intel_assets_tests.support.simulators import simulator_resources

pytestmark = pytest.mark.faults

RATE = 100.0  # the most a client budget may be (ratelimit.MAX_BUDGET_PER_SEC)
PARTITION = "2025-06-02"
ASSET_OF_TR = {
    "FHKST03010100": daily_prices,
    "FHPST04830000": short_selling,
    "FHPTJ04160001": investor_trends,
    "FHPPG04650201": program_trading,
}
INGEST_TABLES = ("daily_prices", "short_selling", "investor_trends", "program_trading",
                 "program_trading_market")  # fmt: skip


SIMULATOR = SimulatorConfig(seed=23, n_symbols=6, start=date(2025, 4, 1), end=date(2025, 6, 30),
                            rate_limit_per_sec=RATE)  # fmt: skip


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with running_simulator(SIMULATOR) as sim:
        yield sim


@pytest.fixture(scope="module")
def universe_url(simulator: Simulator, postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """One database with the universe loaded (cleanly) for the module."""
    with scratch_database(postgres_server_url, "kis_test_numeric", migrated_template) as url:
        resources = simulator_resources(simulator, url, "numeric-universe", rate_limit_per_sec=RATE)
        assert dg.materialize([stock_universe], resources=resources).success
        yield url


@pytest.fixture
def database_url(universe_url: str) -> str:
    """The module's database with no ingested rows: each test starts from the universe alone."""
    with connect(universe_url) as conn:
        conn.execute(f"TRUNCATE {', '.join(INGEST_TABLES)}")
        conn.commit()
    return universe_url


def run_corrupted(
    sim: Simulator, database_url: str, app_key: str, spec: str, asset: dg.AssetsDefinition
) -> dg.ExecuteInProcessResult:
    """Run `asset` for one partition under the fault `spec`."""
    resources = simulator_resources(sim, database_url, app_key, rate_limit_per_sec=RATE, fetch_workers=4)
    sim.set_faults(FaultSpec.parse(spec, seed=5))
    try:
        return dg.materialize([asset], resources=resources, partition_key=PARTITION, raise_on_error=False)
    finally:
        sim.set_faults(None)


def per_stock_table(asset: dg.AssetsDefinition) -> str:
    """The per-stock table of an ingest asset: named like its op (program_trading is a multi-asset)."""
    return asset.node_def.name


def stored_rows(database_url: str, table: str) -> int:
    with connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize(
    ("tr_id", "field"),
    [
        ("FHKST03010100", "stck_hgpr"),  # high 10170 → 30517: outside the ±30 % band
        ("FHKST03010100", "acml_vol"),  # volume tripled: the average price leaves the band
        ("FHPST04830000", "ssts_tr_pbmn"),  # short value tripled, its ratio unchanged
        ("FHPST04830000", "ssts_tr_pbmn_rlim"),  # the ratio changed, the values unchanged
        ("FHPST04830000", "acml_vol"),  # the day's total tripled (also on a day without short sales)
        ("FHPTJ04160001", "scrt_shnu_vol"),  # a sub-group's buying: buy − sell ≠ net, 기관계 ≠ Σ sub-groups
        ("FHPPG04650201", "whol_smtn_ntby_tr_pbmn"),  # programme net value
    ],
)
def test_a_tripled_field_fails_the_blocking_check_naming_tr_symbol_and_field(
    tr_id: str, field: str, simulator: Simulator, database_url: str
) -> None:
    target = simulator.truth.symbols()[2]
    asset = ASSET_OF_TR[tr_id]
    key = f"numeric-{tr_id}-{field}"
    result = run_corrupted(simulator, database_url, key, f"bad_number@{tr_id}:{target}/{field}=1", asset)

    records = [r for r in simulator.stats.requests(key, tr_id) if r.fault == "bad_number"]
    assert records and {r.fault_detail for r in records} == {f"{field}:tripled"}
    assert not result.success
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "schema_valid"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    description = evaluation.description or ""
    assert tr_id in description and f"symbol {target}" in description and field in description, description
    assert "nothing was written" in description
    assert stored_rows(database_url, per_stock_table(asset)) == 0


@pytest.mark.parametrize("tr_id", sorted(ASSET_OF_TR))
def test_any_drawn_numeric_field_tripled_is_rejected_or_changes_nothing_stored(
    tr_id: str, simulator: Simulator, database_url: str
) -> None:
    """Without /FIELD the fault draws any non-zero number of the newest row: a field the product stores
    or checks must be rejected; a field it never reads must leave the stored rows equal to the truth."""
    asset = ASSET_OF_TR[tr_id]
    key = f"numeric-drawn-{tr_id}"
    result = run_corrupted(simulator, database_url, key, f"bad_number@{tr_id}=1", asset)
    details = {
        str(r.fault_detail).partition(":")[0]
        for r in simulator.stats.requests(key, tr_id)
        if r.fault == "bad_number"
    }
    read = {f.source for f in ENDPOINTS[tr_id].fields}
    if details & read:
        assert not result.success, details & read
        assert stored_rows(database_url, per_stock_table(asset)) == 0
    else:
        assert result.success


PREVIOUS = date(2025, 5, 30)  # the trading day before, which the assets fetch along (not written)
DAY = date(2025, 6, 2)


def prices(*, listing: bool = False, **overrides: object) -> pd.DataFrame:
    """The day's row after a previous day's, or alone (the stock's first row: a listing day)."""
    row = {
        "time": DAY,
        "symbol": "005930",
        "open": 10_000,
        "high": 10_170,
        "low": 9_900,
        "close": 10_100,
        "volume": 1_000,
        "trading_value": 10_050_000,
        "base_change": 100,
        "lock_code": "00",
        "modified_yn": "N",
        "reevaluation_reason": "",
    }
    previous = {**row, "time": PREVIOUS, "close": 10_000, "high": 10_050, "trading_value": 10_000_000}
    rows = [{**row, **overrides}] if listing else [previous, {**row, **overrides}]
    return pd.DataFrame(rows).astype({"base_change": "Int64"})


def valid(frame: pd.DataFrame) -> bool:
    try:
        schemas.daily_prices(PREVIOUS, DAY).validate(frame, lazy=True)
    except pa_errors.SchemaErrors:
        return False
    return True


def test_the_price_band_applies_only_where_kis_gives_an_unreset_base_price() -> None:
    assert valid(prices())
    assert not valid(prices(high=30_517))  # base 10,000: the band ends at 13,000
    assert not valid(prices(low=6_800, open=6_800))  # below 7,000 (less the 1 % slack)
    # A split or a 락 day resets the base price: the ±30 % band does not hold there.
    assert valid(prices(high=30_517, reevaluation_reason="01", trading_value=12_000_000))
    assert valid(prices(high=30_517, lock_code="01", trading_value=12_000_000))
    assert valid(prices(high=30_517, modified_yn="Y", trading_value=12_000_000))
    assert valid(prices(high=30_517, base_change=None, trading_value=12_000_000))
    # Without a band the average price must still be a price of the day (± the after-hours margin).
    assert not valid(prices(base_change=None, trading_value=3 * 10_050_000 + 7))
    assert not valid(prices(trading_value=0))  # a traded day with no value
    assert valid(prices(volume=0, trading_value=0, open=10_100, high=10_100, low=10_100))


def test_a_stocks_first_row_gets_the_listing_day_band() -> None:
    """No row the day before (the assets fetch it along): a listing day, 60–400 % of the offering price."""
    assert valid(prices(listing=True, high=30_517, trading_value=12_000_000))
    assert not valid(prices(listing=True, high=50_000, trading_value=12_000_000))


def test_a_stocks_first_trading_day_is_ingested_with_the_listing_band(
    simulator: Simulator, database_url: str
) -> None:
    """The simulator's history starts on the partition day: the day before, which daily_prices fetches
    along, answers "no data" (KIOK0560), and every row is a first row, checked against the listing band."""
    first = str(SIMULATOR.start)
    resources = simulator_resources(simulator, database_url, "first-day-key", rate_limit_per_sec=RATE)
    assert dg.materialize([daily_prices], resources=resources, partition_key=first).success
    assert stored_rows(database_url, "daily_prices") == len(simulator.truth.symbols())


def test_the_corruption_is_well_formed_and_targetable() -> None:
    assert [tripled_and_shifted(v) for v in ("10170", "1.23", "0.05", "-5", "0")] == [
        "30517", "3.76", "0.22", "-8", "7"
    ]  # fmt: skip
    (rule,) = FaultSpec.parse("bad_number@FHKST03010100:005930/stck_hgpr=1").rules
    assert (rule.kind, rule.tr_id, rule.symbol, rule.field) == (
        "bad_number",
        "FHKST03010100",
        "005930",
        "stck_hgpr",
    )
    with pytest.raises(ValueError, match=r"kind\[@TR_ID\[:SYMBOL\]\]\[/FIELD\]=rate"):
        FaultSpec.parse("bad_number/STCK=1")
