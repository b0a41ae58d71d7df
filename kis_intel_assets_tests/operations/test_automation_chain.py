"""The daily chain with nobody clicking: `dagster dev` (daemon running) on deploy/dagster.yaml, the 16:40
schedule ticked for a trading day, the ingest run, the analytics materialized by declarative automation
(the test launches nothing after the schedule's run), and the day's rotation alerts posted to a loopback
Slack webhook.

History the day's trailing windows need (≈ 180 trading days) is loaded before `dagster dev` starts, in
process on the same Dagster instance, the way `kis-intel demo` loads it. The schedule is ticked by asking
the webserver to evaluate it at 16:40 KST of the day (`scheduleDryRun`) and launching exactly the run
request it returns, with the schedule's tag: the cron is real, only the clock is the test's.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from kis_intel_assets.defs.automation import analytics_automation
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.demo import DemoGraph, run_analytics
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.alert_channels import SLACK_PATH
from kis_intel_assets_tests.support.dagster_dev import (
    STARTUP_TIMEOUT_S,
    DagsterDev,
    dagster_home,
    dagster_storage_env,
    running_dagster_dev,
    server_up,
)
from kis_intel_assets_tests.support.simulators import (
    SimulatorFactory,
    simulator_environment,
    simulator_resources,
)
from kis_intel_assets_tests.support.webhook_receiver import running_receiver

DAY = date(2025, 6, 27)  # a Friday; the simulated market ends on 2025-06-30
# Enough for DAY's longest trailing window (rotation_signal: 75 days of sector flow, each reading 60 days
# of prices) plus a few days of signals for the scorecard.
HISTORY = trading_days(date(2024, 11, 25), DAY - timedelta(days=1))
READ_BY_ANALYTICS = ["daily_prices", "investor_trends", "short_selling"]
RUN_ENDED = {"SUCCESS", "FAILURE", "CANCELED"}
APP_KEY, APP_SECRET = "automation-app-key", "automation-app-secret"
RATE = 100.0
ANALYTICS = [
    "stock_money_flow_index",
    "sector_money_flow",
    "rotation_signal",
    "rotation_transition",
    "short_overheat",
    "overheat_candidates",
    "concentrated_buying",
]
CHAIN_TIMEOUT_S = 240.0

pytestmark = pytest.mark.timeout(900)

REPOSITORIES = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"""
SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 1) { status } } }
  }
}"""
DRY_RUN = """
mutation DryRun($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult { runRequests { runKey runConfigYaml tags { key value } } skipReason }
    }
    ... on PythonError { message }
  }
}"""
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN = """query Run($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
RUNS = """
{ runsOrError { ... on Runs { results { runId status tags { key value } assetSelection { path } } } } }"""
PARTITIONS = """
query Parts($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) { assetKey { path } partitionStats { numMaterialized } }
}"""


def load_history(home: Path, resources: dict[str, object], storage: dict[str, str], monkeypatch) -> None:
    """Ingest and analytics for HISTORY, recorded on the instance `dagster dev` will use."""
    for name, value in storage.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        graph = DemoGraph(instance)
        graph.resources = resources
        graph.run(["stock_universe"])
        graph.run(READ_BY_ANALYTICS, HISTORY)
        assert run_analytics(graph, HISTORY)


def location(dev: DagsterDev) -> dict[str, str]:
    """The code location's selector, once it has loaded."""
    repos: list[dict[str, Any]] = []
    dev.wait_for(
        "the code location",
        lambda: bool(repos.extend(dev.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]) or repos),
        STARTUP_TIMEOUT_S,
    )
    return {"repositoryLocationName": repos[0]["location"]["name"], "repositoryName": repos[0]["name"]}


def automation_ticked(dev: DagsterDev, where: dict[str, str]) -> bool:
    selector = {**where, "sensorName": analytics_automation.name}
    sensor = dev.graphql(SENSOR_TICKS, {"selector": selector})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    return bool(sensor["sensorState"]["ticks"])


def tick_daily_schedule(dev: DagsterDev, where: dict[str, str], day: date) -> str:
    """Evaluate the schedule at 16:40 KST of `day` and launch the run it asks for; returns the run id."""
    at = datetime(day.year, day.month, day.day, 16, 40, tzinfo=SEOUL).timestamp()
    selector = {**where, "scheduleName": "daily_market_data_schedule"}
    tick = dev.graphql(DRY_RUN, {"selector": selector, "timestamp": at})["scheduleDryRun"]
    assert tick["__typename"] == "DryRunInstigationTick", tick
    requests = tick["evaluationResult"]["runRequests"]  # the day's, and lending for the day before
    request = next(r for r in requests if {"key": "dagster/partition", "value": day.isoformat()} in r["tags"])
    tags = {t["key"]: t["value"] for t in request["tags"]}
    assert tags["dagster/partition"] == day.isoformat(), tags
    tags |= {"dagster/schedule_name": "daily_market_data_schedule", "dagster/run_key": request["runKey"]}
    params = {
        "selector": {**where, "jobName": "daily_market_data"},
        "runConfigData": request["runConfigYaml"],
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    launched = dev.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", f"{launched}\n{dev.log_tail()}"
    return launched["run"]["runId"]


def run_status(dev: DagsterDev, run_id: str) -> str:
    return dev.graphql(RUN, {"id": run_id})["runOrError"]["status"]


def automation_runs(dev: DagsterDev) -> list[dict[str, Any]]:
    runs = dev.graphql(RUNS)["runsOrError"]["results"]
    return [r for r in runs if {"key": "dagster/from_automation_condition", "value": "true"} in r["tags"]]


def day_alerts_sent(database_url: str, day: date) -> dict[str, int]:
    """Alerts of `day` delivered to the channel, per alert type."""
    with connect(database_url) as conn:
        return dict(
            conn.execute(
                """SELECT o.alert_type, count(*) FROM alert_outbox o JOIN alert_delivery d USING (alert_id)
                    WHERE o.trading_day = %s AND d.status = 'sent'
                      AND o.alert_type IN ('rotation_transition', 'short_overheat', 'concentrated_buying')
                    GROUP BY o.alert_type""",
                (day,),
            ).fetchall()
        )


def day_alerts_due(database_url: str, day: date) -> dict[str, int]:
    """What the analytics wrote for `day` that alerts: signal changes, designations, flagged buying."""
    with connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE time = %s {extra}", (day,)).fetchone()[0]
            for table, extra in (
                ("rotation_transition", "AND kind = 'signal'"),
                ("short_overheat", ""),
                ("concentrated_buying", ""),
            )
        }


def test_schedule_tick_ingests_and_automation_derives_analytics_that_alert(
    tmp_path: Path,
    simulator_factory: SimulatorFactory,
    database_url: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(rate_limit_per_sec=RATE)
    home = dagster_home(tmp_path)
    storage = dagster_storage_env(empty_database_url)
    resources = simulator_resources(sim, database_url, APP_KEY, APP_SECRET, rate_limit_per_sec=RATE)
    load_history(home, resources, storage, monkeypatch)

    with running_receiver() as receiver:
        env = {
            **simulator_environment(sim, database_url, APP_KEY, APP_SECRET, RATE),
            **storage,
            "DAGSTER_HOME": str(home),
            "KIS_INTEL_SLACK_WEBHOOK_URL": receiver.url(SLACK_PATH),
        }
        with running_dagster_dev(tmp_path, sim, env) as dev:
            dev.wait_for("/server_info", lambda: server_up(dev), STARTUP_TIMEOUT_S)
            where = location(dev)
            # The sensor's first tick only records where the graph stands; the day starts after it.
            dev.wait_for("the automation sensor's first tick", lambda: automation_ticked(dev, where), 120)

            started = time.monotonic()
            # KIS's clock at the tick, as in production: the day's master files (official overheat list).
            sim.set_now(datetime.combine(DAY, time_of_day(16, 40)))
            ingest_run = tick_daily_schedule(dev, where, DAY)
            dev.wait_for("the day's ingest run", lambda: run_status(dev, ingest_run) in RUN_ENDED, 180)
            assert run_status(dev, ingest_run) == "SUCCESS", dev.log_tail()
            ingested = time.monotonic() - started

            market_alerts = {"rotation_transition", "short_overheat"}
            dev.wait_for(
                "a rotation or overheat alert for the day",
                lambda: bool(day_alerts_sent(database_url, DAY).keys() & market_alerts),
                CHAIN_TIMEOUT_S,
            )
            first_alert = time.monotonic() - started
            due = day_alerts_due(database_url, DAY)
            dev.wait_for(
                f"every alert of the day {due}",
                lambda: day_alerts_sent(database_url, DAY) == {k: n for k, n in due.items() if n},
                CHAIN_TIMEOUT_S,
            )
            print(
                f"\nchain: schedule tick → ingest done {ingested:.1f}s → first alert of {DAY} sent "
                f"{first_alert:.1f}s → last ({sum(due.values())} alerts) {time.monotonic() - started:.1f}s"
            )

            runs = automation_runs(dev)
            launched = {tuple(a["path"]) for r in runs for a in r["assetSelection"] or []}
            assert {(name,) for name in ANALYTICS} <= launched, runs
            assert all(r["status"] in {"SUCCESS", "STARTED", "STARTING", "QUEUED"} for r in runs), runs
            nodes = dev.graphql(PARTITIONS, {"keys": [{"path": [name]} for name in ANALYTICS]})["assetNodes"]
            assert all(node["partitionStats"]["numMaterialized"] > 0 for node in nodes), nodes

    slack_bodies = [r.raw.decode() for r in receiver.requests(SLACK_PATH)]
    assert any(DAY.isoformat() in body for body in slack_bodies), slack_bodies[-3:]
