"""The code location loads and its asset graph is the one the product promises."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from kis_intel_assets.definitions import defs
from kis_intel_assets.defs.ingest.assets import KIS_POOL
from kis_intel_assets.defs.partitions import trading_day_partitions

INGEST = {"stock_universe", "daily_prices", "investor_trends", "short_selling", "program_trading"}


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_ingest_assets_share_the_kis_pool_and_block_on_invalid_data() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys >= INGEST
    for name in [
        *INGEST,
        "program_trading_market",
        "intraday_program_trading",
        "intraday_investor_estimates",
    ]:
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == "ingest"
        assert defs.get_assets_def(name).node_def.pool == KIS_POOL, name
        schema_check = dg.AssetCheckKey(dg.AssetKey(name), "schema_valid")
        assert schema_check in graph.asset_check_keys, name
        assert graph.get_check_spec(schema_check).blocking, name


def test_daily_assets_are_trading_day_partitioned_with_single_run_backfills() -> None:
    graph = defs.resolve_asset_graph()
    for name in INGEST - {"stock_universe"}:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == trading_day_partitions, name
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), name
        assert dg.AssetKey("stock_universe") in node.parent_keys, name


def test_partitions_are_krx_trading_days() -> None:
    keys = set(trading_day_partitions.get_partition_keys())
    assert "2025-06-02" in keys  # Monday
    assert "2025-06-07" not in keys  # Saturday
    assert "2025-06-03" not in keys  # presidential election day, market closed
    assert "2025-10-06" not in keys  # Chuseok
    assert "2025-01-01" not in keys  # New Year
    assert trading_day_partitions.timezone == "Asia/Seoul"


def test_table_checks_cover_every_daily_table() -> None:
    check_keys = defs.resolve_asset_graph().asset_check_keys
    for table in INGEST - {"stock_universe"}:
        for name in ("partition_not_empty", "coverage_vs_universe", "keys_unique_and_known"):
            assert dg.AssetCheckKey(dg.AssetKey(table), name) in check_keys, (table, name)


def test_loading_the_code_location_prints_no_beta_or_preview_warnings() -> None:
    loaded = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import kis_intel_assets.definitions"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "BetaWarning" not in loaded.stderr and "PreviewWarning" not in loaded.stderr, loaded.stderr[-2000:]


def test_pages_are_external_assets_downstream_of_the_tables_they_read() -> None:
    graph = defs.resolve_asset_graph()
    for page, reads in {
        "sectors_page": {"sector_money_flow", "investor_trends"},
        "overheat_page": {"short_overheat", "short_selling"},
        "rotation_page": {"rotation_signal", "rotation_scorecard"},
    }.items():
        node = graph.get(dg.AssetKey(page))
        assert not node.is_materializable and node.group_name == "pages"
        assert reads <= {key.to_user_string() for key in node.parent_keys}, page
        assert node.metadata["url"].value.endswith("/" + page.removesuffix("_page"))


def test_analytics_run_by_automation_and_daily_tables_have_freshness_policies() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name == "analytics":
            assert node.automation_condition is not None, key
        if node.partitions_def == trading_day_partitions and node.group_name in {"ingest", "analytics"}:
            assert node.freshness_policy is not None, key
    sensor = defs.get_sensor_def("analytics_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_every_table_is_an_asset_that_names_it() -> None:
    graph = defs.resolve_asset_graph()
    tables = {
        graph.get(key).metadata.get("dagster/table_name"): key.to_user_string()
        for key in graph.get_all_asset_keys()
    }
    assert tables["rotation_transition"] == "rotation_transition"  # its own asset, beside rotation_signal
    assert tables["sector_rotation"] == "sector_money_flow"  # RFC-010's table, the design card's asset
    assert tables["stock_mfi"] == "stock_money_flow_index" and tables["stock_master"] == "stock_universe"
    signal = defs.get_assets_def("rotation_signal")
    assert signal.keys == {dg.AssetKey("rotation_signal"), dg.AssetKey("rotation_transition")}


def test_every_table_asset_declares_its_table_and_columns() -> None:
    graph = defs.resolve_asset_graph()
    declared = {}
    for key in graph.get_all_asset_keys():
        if graph.get(key).group_name == "pages":
            continue
        metadata = graph.get(key).metadata
        schema = metadata["dagster/column_schema"]
        names = [column.name for column in schema.columns]
        assert "time" in names or key.to_user_string() == "stock_universe", key
        assert len(names) == len(set(names)) >= 3, key
        declared[metadata["dagster/table_name"]] = {
            c.name: (c.type, c.constraints.nullable) for c in schema.columns
        }
    assert set(declared) == {
        "stock_master", "daily_prices", "investor_trends", "short_selling", "program_trading",
        "program_trading_market", "intraday_program_trading", "intraday_investor_estimates", "stock_mfi",
        "sector_rotation", "rotation_signal", "rotation_transition", "rotation_scorecard", "short_overheat",
        "concentrated_buying",
        "short_balance", "krx_investor_flows",
    }  # fmt: skip
    assert declared["program_trading_market"]["net_value"] == ("bigint", False)
    assert declared["rotation_signal"]["score"] == ("double precision", False)  # retyped by 013
    assert declared["short_selling"]["source"] == ("text", False)  # added by 016


def test_assets_that_write_several_tables_are_multi_assets_run_whole() -> None:
    for op, tables in {
        "program_trading": {"program_trading", "program_trading_market"},
        "intraday_program_trading": {"intraday_program_trading", "intraday_investor_estimates"},
    }.items():
        assets_def = defs.get_assets_def(op)
        assert {key.to_user_string() for key in assets_def.keys} == tables
        assert not assets_def.can_subset, op
    for job, tables in {
        "daily_market_data": {"program_trading", "program_trading_market"},
        "intraday_flows_job": {"intraday_program_trading", "intraday_investor_estimates"},
    }.items():  # the schedules' jobs write every table of the multi-assets they select
        assert tables <= {
            key.to_user_string() for key in defs.resolve_job_def(job).asset_layer.selected_asset_keys
        }
