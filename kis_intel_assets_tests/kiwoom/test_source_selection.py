"""The routed assets (program_trading, investor_trends, short_selling, stock_lending) with source = both,
materialized with Dagster against both simulators and a real PostgreSQL: rows equal ground truth in every
column the serving broker gives (the columns Kiwoom cannot give are NULL in its rows; short_selling's
total_value comes from the stored daily_prices), `source` says which broker served each, the sources_agree
check compares the brokers, and with KIS failing every per-stock request of the dataset the run completes
from Kiwoom."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets.definitions import defs
from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.ingest.lending import stock_lending
from kis_intel_assets.kiwoom.routing import ROUTED_DATASETS
from kis_intel_assets.simulator import FaultSpec, running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import running_kiwoom_simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.kiwoom import MARKET
from kis_intel_assets_tests.support.simulators import simulator_resources

PARTITION = "2024-06-28"
DAY = date.fromisoformat(PARTITION)


@contextlib.contextmanager
def run_resources(database_url: str, faults: FaultSpec | None = None) -> Iterator[tuple[dict, object]]:
    with (
        running_simulator(replace(MARKET, faults=faults, rate_limit_per_sec=100.0)) as kis_sim,
        running_kiwoom_simulator(kis_sim.model, KiwoomSimSettings(rate_limit_per_sec=100.0)) as kiwoom_sim,
    ):
        resources = simulator_resources(
            kis_sim,
            database_url,
            "PSsource-key",
            rate_limit_per_sec=100.0,
            fetch_workers=4,
            source="both",
            kiwoom_app_key="KWsource-key",
            kiwoom_app_secret="kiwoom-secret",
            kiwoom_base_url=kiwoom_sim.base_url,
            kiwoom_rate_limit_per_sec=100.0,
            read_timeout_seconds=2.0,
        )
        assert dg.materialize([stock_universe], resources=resources).success
        # Kiwoom's short_selling rows take the day's trading value from the stored daily_prices.
        assert dg.materialize([daily_prices], resources=resources, partition_key=PARTITION).success
        yield resources, kis_sim


# table -> (its asset, the KIS TR of its per-stock rows)
ROUTED_ASSETS = {
    "program_trading": (program_trading, "FHPPG04650201"),
    "investor_trends": (investor_trends, "FHPTJ04160001"),
    "short_selling": (short_selling, "FHPST04830000"),
    "stock_lending": (stock_lending, "HHPST074500C0"),
}
assert set(ROUTED_ASSETS) == set(ROUTED_DATASETS)
# A daily window of these comes whole from Kiwoom's market lists (ka90004): KIS is not asked for it.
FROM_MARKET_LISTS = {t for t, spec in ROUTED_DATASETS.items() if spec.market_lists is not None}


def stored(database_url: str, table: str) -> pd.DataFrame:
    with connect(database_url) as conn:
        return fetch_frame(conn, f"SELECT * FROM {table} ORDER BY symbol")


def assert_equals_truth(frame: pd.DataFrame, sim, table: str) -> None:
    """Every column equals ground truth, except the columns Kiwoom cannot give: NULL in its rows."""
    truth = getattr(sim.truth, table)(DAY, DAY).sort_values("symbol").reset_index(drop=True)
    frame = frame.reset_index(drop=True)
    missing = [c for c in ROUTED_DATASETS[table].not_from_kiwoom if c in truth.columns]
    shared = [c for c in truth.columns if c not in missing]
    pd.testing.assert_frame_equal(frame[shared], truth[shared], check_dtype=False)
    from_kis = frame["source"] == "KIS"
    pd.testing.assert_frame_equal(
        frame.loc[from_kis, missing], truth.loc[from_kis, missing], check_dtype=False
    )
    assert frame.loc[~from_kis, missing].isna().all().all()


@pytest.mark.parametrize("table", ROUTED_ASSETS)
def test_both_sources_store_ground_truth_with_their_source_and_agree(database_url, table):
    asset, _ = ROUTED_ASSETS[table]
    with run_resources(database_url) as (resources, sim):
        result = dg.materialize([asset], resources=resources, partition_key=PARTITION)
    assert result.success
    rows = stored(database_url, table)
    assert_equals_truth(rows, sim, table)
    listed = table in FROM_MARKET_LISTS
    assert set(rows["source"]) == ({"KIWOOM"} if listed else {"KIS", "KIWOOM"})
    metadata = result.asset_materializations_for_node(table)[0].metadata
    assert metadata["source"].value == "both"
    assert sum(metadata["symbols_by_source"].value.values()) == len(sim.model.symbols())
    assert (
        metadata["market_list_days"].value[table] == 1
        if listed
        else table not in metadata["market_list_days"].value
    )
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "sources_agree")
    # one symbol each broker served, re-fetched from the other (all from Kiwoom: one symbol)
    assert check.passed and check.metadata["compared_symbols"].value == (1 if listed else 2)
    events = " ".join(str(event) for event in result.all_events)
    assert "KWsource-key" not in events and "kiwoom-secret" not in events


@pytest.mark.parametrize("table", ROUTED_ASSETS)
def test_kis_failing_every_per_stock_request_completes_from_kiwoom(database_url, table):
    asset, tr_id = ROUTED_ASSETS[table]
    with run_resources(database_url, FaultSpec.parse(f"http5xx@{tr_id}=1.0")) as (resources, sim):
        result = dg.materialize([asset], resources=resources, partition_key=PARTITION)
    assert result.success
    rows = stored(database_url, table)
    assert_equals_truth(rows, sim, table)
    assert set(rows["source"]) == {"KIWOOM"}
    metadata = result.asset_materializations_for_node(table)[0].metadata
    assert metadata["symbols_by_source"].value == {"KIWOOM": len(sim.model.symbols())}
    fallbacks = metadata["source_fallbacks"].value
    if table in FROM_MARKET_LISTS:
        assert fallbacks == 0 and metadata["sources_down"].value == []  # KIS was never asked
    elif table == "short_selling":
        # One Kiwoom call per stock against KIS's one: Kiwoom may finish the run before KIS failed the
        # 3 calls in a row that mark it down; every KIS call that was made fell back.
        assert fallbacks >= 1 and (metadata["sources_down"].value == ["KIS"]) == (fallbacks >= 3)
    else:
        assert metadata["sources_down"].value == ["KIS"]
        assert fallbacks >= 3


def test_kis_failing_every_per_stock_request_of_the_daily_run_completes_from_kiwoom(database_url):
    """The three routed datasets in one run, KIS failing each of their per-stock TRs: every row from
    Kiwoom, equal to ground truth, and each materialization says every stock came from Kiwoom."""
    faults = ",".join(f"http5xx@{tr_id}=1.0" for _, tr_id in ROUTED_ASSETS.values())
    with run_resources(database_url, FaultSpec.parse(faults)) as (resources, sim):
        assets = [asset for asset, _ in ROUTED_ASSETS.values()]
        result = dg.materialize(assets, resources=resources, partition_key=PARTITION)
    assert result.success
    for table in ROUTED_ASSETS:
        rows = stored(database_url, table)
        assert_equals_truth(rows, sim, table)
        assert set(rows["source"]) == {"KIWOOM"}
        metadata = result.asset_materializations_for_node(table)[0].metadata
        assert metadata["symbols_by_source"].value == {"KIWOOM": len(sim.model.symbols())}
        assert (metadata["source_fallbacks"].value >= 1) == (table not in FROM_MARKET_LISTS)


def test_short_selling_reads_daily_prices_in_the_graph():
    """Kiwoom's short_selling rows take the stored daily_prices, so a run that has both runs it first."""
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("daily_prices") in graph.get(dg.AssetKey("short_selling")).parent_keys
