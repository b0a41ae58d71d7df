"""Table checks tell the truth per partition: a single-run backfill of twelve trading days records every
day's table checks, read back through Dagster's GraphQL API (the one the UI uses); with one day's rows
deleted, the checks executed on their own (no asset, no KIS request) fail that day and only that day."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from kis_intel_assets.defs.alerts.check_events import check_failure_alerts, failed_check_evaluations
from kis_intel_assets.defs.ingest.checks import TABLE_CHECKS
from kis_intel_assets.defs.partitions import trading_day_partitions
from kis_intel_assets.defs.selection import materialize_selection, range_tags
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.simulators import SimulatorFactory, simulator_resources

DEFINITIONS = Path(__file__).resolve().parents[2] / "kis_intel_assets" / "definitions.py"
DAYS = trading_days(date(2025, 5, 26), date(2025, 6, 12))  # 12 trading days (06-03 and 06-06 closed)
DELETED = date(2025, 6, 5)
TABLE = "daily_prices"
CHECKS = [check.name for check in TABLE_CHECKS]
EMPTY_DAY_FAILS = {"partition_not_empty", "coverage_vs_universe"}
RUN_TIMEOUT_S = 180

pytestmark = pytest.mark.timeout(300)

CHECK_STATUSES = """
query Checks($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name canExecuteIndividually
            partitionStatuses { ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } }
          }
        }
      }
    }
  }
}"""
LATEST_SCHEMA_CHECK = """
query Latest($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks { checks { name executionForLatestMaterialization { status runId } } }
      }
    }
  }
}"""
LAUNCH_CHECKS = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}"""


@pytest.fixture
def graphql(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[object]:
    """A persistent instance and a GraphQL context on the project's code location (its own process)."""
    monkeypatch.setenv("KIS_INTEL_DATABASE_URL", database_url)
    # Launched runs start at once (no daemon here to dequeue them).
    immediate = {
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
    }
    with (
        dg.instance_for_test(temp_dir=str(tmp_path), overrides=immediate) as instance,
        define_out_of_process_context(str(DEFINITIONS), "defs", instance) as context,
    ):
        yield context


def statuses(context: object) -> dict[str, dict[str, str]]:
    """check name → {partition: status} for every day of DAYS, expanded from GraphQL's ranges."""
    result = execute_dagster_graphql(context, CHECK_STATUSES, {"key": {"path": [TABLE]}})
    assert not result.errors, result.errors
    checks = result.data["assetNodeOrError"]["assetChecksOrError"]["checks"]
    found: dict[str, dict[str, str]] = {}
    for check in (c for c in checks if c["name"] in CHECKS):
        assert check["canExecuteIndividually"] == "CAN_EXECUTE", check
        per_day = found.setdefault(check["name"], {})
        for span in (check["partitionStatuses"] or {}).get("ranges", []):
            keys = trading_day_partitions.get_partition_keys_in_range(
                dg.PartitionKeyRange(span["startKey"], span["endKey"])
            )
            per_day.update(dict.fromkeys(keys, span["status"]))
    return {name: {day.isoformat(): found[name].get(day.isoformat(), "–") for day in DAYS} for name in CHECKS}


def run_checks_alone(context: object) -> None:
    """Launch the table's checks without the asset, as the UI's "Execute checks" does, for DAYS."""
    (repository,) = context.code_locations[0].get_repositories().values()
    params = {
        "selector": {
            "repositoryLocationName": context.code_locations[0].name,
            "repositoryName": repository.name,
            "jobName": "__ASSET_JOB",
            "assetSelection": [],
            "assetCheckSelection": [{"assetKey": {"path": [TABLE]}, "name": name} for name in CHECKS],
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in range_tags(DAYS).items()]},
    }
    result = execute_dagster_graphql(context, LAUNCH_CHECKS, {"params": params})
    launched = result.data["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (run := context.instance.get_run_by_id(run_id)).is_finished:
        assert time.monotonic() < deadline, f"check run {run_id} still {run.status}"
        time.sleep(1)
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    materialized = context.instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    assert not materialized, "checks alone must not materialize the asset"


def test_range_run_records_each_days_checks_and_a_deleted_day_fails_alone(
    graphql: object, simulator_factory: SimulatorFactory, database_url: str
) -> None:
    sim = simulator_factory(n_symbols=6)
    resources = simulator_resources(sim, database_url, "checks-app-key")
    instance = graphql.instance
    assert materialize_selection(["stock_universe"], resources, instance=instance, quiet=True).success
    result = materialize_selection(
        [TABLE], resources, days=DAYS, instance=instance, table_checks=True, quiet=True
    )
    assert result.success
    per_day = {
        m.partition: m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node(TABLE)
    }
    assert per_day == {day.isoformat(): 6 for day in DAYS}  # that day's rows, not the run's total
    assert statuses(graphql) == {
        name: dict.fromkeys((d.isoformat() for d in DAYS), "SUCCEEDED") for name in CHECKS
    }

    with connect(database_url) as conn:
        assert conn.execute(f"DELETE FROM {TABLE} WHERE time = %s", (DELETED,)).rowcount == 6
    requests_before = len(sim.stats.requests())
    run_checks_alone(graphql)
    assert len(sim.stats.requests()) == requests_before, "re-checking must not ask KIS for anything"

    expected = {
        name: {
            d.isoformat(): "FAILED" if d == DELETED and name in EMPTY_DAY_FAILS else "SUCCEEDED" for d in DAYS
        }
        for name in CHECKS
    }
    assert statuses(graphql) == expected

    failures, _ = failed_check_evaluations(instance, None)
    alerts = check_failure_alerts(instance, failures)
    assert sorted((a.entity, a.trading_day) for a in alerts) == sorted(
        (f"{TABLE}:{name}", DELETED) for name in EMPTY_DAY_FAILS
    )  # the failing day, not the range's end
    assert all(a.payload["partition"] == DELETED.isoformat() for a in alerts)


def test_failed_blocking_schema_check_shows_on_the_assets_latest_state(
    graphql: object, simulator_factory: SimulatorFactory, database_url: str
) -> None:
    """Day 1 and day 2 land; a re-run of day 1 with a bad field fails `schema_valid`. That failure is
    the check's state for the asset's latest materialization (day 2's), not "Not evaluated"."""
    sim = simulator_factory(n_symbols=4)
    resources = simulator_resources(sim, database_url, "schema-app-key")
    instance = graphql.instance
    assert materialize_selection(["stock_universe"], resources, instance=instance, quiet=True).success
    first, second = DAYS[0], DAYS[1]
    for day in (first, second):
        materialize = materialize_selection(
            [TABLE], resources, partition_key=day.isoformat(), instance=instance, quiet=True
        )
        assert materialize.success
    symbol = sorted(sim.truth.symbols())[0]
    sim.set_faults(FaultSpec.parse(f"bad_field@FHKST03010100:{symbol}=1", seed=1))
    failed = materialize_selection(
        [TABLE],
        resources,
        partition_key=first.isoformat(),
        instance=instance,
        quiet=True,
        raise_on_error=False,
    )
    assert not failed.success

    result = execute_dagster_graphql(graphql, LATEST_SCHEMA_CHECK, {"key": {"path": [TABLE]}})
    checks = result.data["assetNodeOrError"]["assetChecksOrError"]["checks"]
    (schema,) = [c for c in checks if c["name"] == "schema_valid"]
    assert schema["executionForLatestMaterialization"] == {"status": "FAILED", "runId": failed.run_id}
