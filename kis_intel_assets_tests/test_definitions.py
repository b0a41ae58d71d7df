"""The code location loads and its asset graph is the one the product promises."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from kis_intel_assets.definitions import defs
from kis_intel_assets.defs.ingest.assets import KIS_POOL
from kis_intel_assets.defs.partitions import trading_day_partitions

INGEST = {
    "stock_universe",
    "daily_prices",
    "investor_trends",
    "short_selling",
    "program_trading",
    "stock_lending",
}


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
        "overheat_page": {"short_overheat", "overheat_candidates", "short_selling"},
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
        "overheat_candidates", "concentrated_buying",
        "stock_lending", "short_overheat_designations", "short_balance", "krx_investor_flows",
    }  # fmt: skip
    assert declared["program_trading_market"]["net_value"] == ("bigint", False)
    assert declared["rotation_signal"]["score"] == ("double precision", False)  # retyped by 013
    assert declared["short_selling"]["source"] == ("text", False)  # added by 016
    assert declared["stock_lending"]["balance_amount"] == ("bigint", False)  # 018


def test_the_daily_schedule_asks_for_lending_of_the_trading_day_before() -> None:
    """Lending may be published the next trading day: the 16:40 run of a Monday ingests Friday's."""
    job = defs.resolve_job_def("daily_market_data")
    assert dg.AssetKey("stock_lending") in job.asset_layer.selected_asset_keys
    schedule = defs.get_schedule_def("daily_market_data_schedule")
    monday = datetime(2025, 6, 9, 16, 40, tzinfo=ZoneInfo("Asia/Seoul"))
    with dg.build_schedule_context(
        scheduled_execution_time=monday, repository_def=defs.get_repository_def()
    ) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert {(r.partition_key, r.run_key) for r in requests} == {
        ("2025-06-09", "daily-2025-06-09"),
        ("2025-06-05", "late-2025-06-05"),
    }  # 06-06 is Memorial Day
    by_day = {r.partition_key: {k.to_user_string() for k in r.asset_selection} for r in requests}
    assert by_day["2025-06-05"] == {"stock_lending"}
    assert "stock_lending" not in by_day["2025-06-09"] and "program_trading_market" in by_day["2025-06-09"]


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
