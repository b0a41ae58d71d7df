"""Production path end to end: `dagster dev` on deploy/dagster.yaml (Postgres instance storage, run queue,
pools) backfills trading days of the ingest assets through the GraphQL API, the daemon inside
`dagster dev` runs them against the KIS simulator, and the rows land in the market database.

It is the one slow test of the suite (~90 s on a loaded 2-core machine: `dagster dev` needs ~20 s to come
up and the backfill daemon ticks every 30 s, so a backfill completes two ticks after it is submitted), so it
is written to fail readably: every wait has a generous deadline and a failure shows the tail of the
`dagster dev` log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import KIS_POOL, stock_universe
from kis_intel_assets.storage import connect, fetch_frame
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

PARTITIONS = ["2025-06-02", "2025-06-04", "2025-06-05"]  # 2025-06-03 was a KRX holiday (election day)
BACKFILLED = ["daily_prices", "short_selling"]
APP_KEY, APP_SECRET = "operations-app-key", "operations-app-secret"
RATE = 100.0
BACKFILL_TIMEOUT_S = 240.0
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

pytestmark = pytest.mark.timeout(420)


# ##### FIXTURES


@pytest.fixture
def dagster_dev(
    tmp_path: Path, simulator_factory: SimulatorFactory, database_url: str, empty_database_url: str
) -> Iterator[DagsterDev]:
    sim = simulator_factory(n_symbols=8, rate_limit_per_sec=RATE)
    resources = simulator_resources(sim, database_url, APP_KEY, APP_SECRET, rate_limit_per_sec=RATE)
    assert dg.materialize([stock_universe], resources=resources).success

    env = {
        **simulator_environment(sim, database_url, APP_KEY, APP_SECRET, RATE),
        **dagster_storage_env(empty_database_url),
        "DAGSTER_HOME": str(dagster_home(tmp_path)),
        "KIS_INTEL_PARTITION_START": "2025-01-02",
    }
    with running_dagster_dev(tmp_path, sim, env) as dev:
        yield dev


LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on UnauthorizedError { message }
  }
}"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 20) { runId status } }
    ... on PythonError { message }
  }
}"""
POOL = """
query Pool($key: String!) { instance { concurrencyLimit(concurrencyKey: $key) { concurrencyKey slotCount } } }
"""
SET_POOL = """
mutation Pool($key: String!, $limit: Int!) { setConcurrencyLimit(concurrencyKey: $key, limit: $limit) }
"""


# ##### TESTS


def test_backfill_through_dagster_dev_lands_rows_within_the_pool_and_rate_limit(
    dagster_dev: DagsterDev, database_url: str
) -> None:
    dev, sim = dagster_dev, dagster_dev.simulator
    dev.wait_for("/server_info", lambda: server_up(dev), STARTUP_TIMEOUT_S)
    assert dev.graphql(SET_POOL, {"key": KIS_POOL, "limit": 1})["setConcurrencyLimit"] is True
    pool = dev.graphql(POOL, {"key": KIS_POOL})["instance"]["concurrencyLimit"]
    assert pool == {"concurrencyKey": KIS_POOL, "slotCount": 1}

    params = {
        "partitionNames": PARTITIONS,
        "assetSelection": [{"path": [name]} for name in BACKFILLED],
        "fromFailure": False,
        # One process instead of one per step: the same code path, without ~10 s of imports per step on
        # a loaded 2-core machine, so the run finishes before the backfill daemon's next 30-s tick.
        "runConfigData": {"execution": {"config": {"in_process": {}}}},
    }
    launched = dev.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", f"{launched}\n{dev.log_tail()}"
    backfill_id = launched["backfillId"]

    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(dev.graphql(STATUS, {"id": backfill_id})["partitionBackfillOrError"])
        return state.get("status") in TERMINAL

    dev.wait_for(f"backfill {backfill_id}", finished, BACKFILL_TIMEOUT_S)
    assert state["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, f"{state}\n{dev.log_tail()}"
    # single_run backfill policy: the three days are one run that asks KIS for the whole range
    assert [run["status"] for run in state["runs"]] == ["SUCCESS"], state

    with connect(database_url) as conn:
        symbols = set(fetch_frame(conn, "SELECT symbol FROM stock_master")["symbol"])
        for table in BACKFILLED:
            stored = fetch_frame(conn, f"SELECT symbol, time FROM {table}")
            assert sorted({day.isoformat() for day in stored["time"]}) == PARTITIONS, table
            assert set(stored["symbol"]) == symbols and len(stored) == len(PARTITIONS) * len(symbols), table

    served = sim.stats.requests(APP_KEY)
    assert {r.tr_id for r in served} >= {"FHKST03010100", "FHPST04830000"}
    assert not [r for r in served if r.msg_cd == "EGW00201"], "the per-key rate limit was exceeded"
    assert max(sim.stats.requests_in_windows().values()) <= RATE
