"""Production path end to end: `dagster dev` on deploy/dagster.yaml (Postgres instance storage, run queue,
pools) backfills trading days of the ingest assets through the GraphQL API, the daemon inside
`dagster dev` runs them against the KIS simulator, and the rows land in the market database.

It is the one slow test of the suite (~90 s on a loaded 2-core machine: `dagster dev` needs ~20 s to come
up and the backfill daemon ticks every 30 s, so a backfill completes two ticks after it is submitted), so it
is written to fail readably: every wait has a generous deadline and a failure shows the tail of the
`dagster dev` log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dagster as dg
import httpx
import pytest

from kis_intel_assets.defs.ingest.assets import KIS_POOL, stock_universe
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.simulator_fixtures import (
    SimulatorFactory,
    simulator_environment,
    simulator_resources,
)

REPO = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")
PARTITIONS = ["2025-06-02", "2025-06-04", "2025-06-05"]  # 2025-06-03 was a KRX holiday (election day)
BACKFILLED = ["daily_prices", "short_selling"]
APP_KEY, APP_SECRET = "operations-app-key", "operations-app-secret"
RATE = 100.0
STARTUP_TIMEOUT_S = 90.0
BACKFILL_TIMEOUT_S = 240.0
SHUTDOWN_TIMEOUT_S = 30.0
# A code server that is busy when SIGTERM lands can outlive `dagster dev`; Dagster's own backstop is the
# heartbeat: the code server exits 45 s after its last heartbeat, its gRPC child 30 s after the code server.
ORPHAN_EXIT_TIMEOUT_S = 90.0
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

pytestmark = pytest.mark.timeout(420)


# ##### FIXTURES


@dataclass
class DagsterDev:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    simulator: Simulator

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, f"{body}\n{self.log_tail()}"
        return body["data"]

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                pytest.fail(
                    f"dagster dev exited ({self.process.returncode}) while waiting for {what}\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tail()}")
            time.sleep(1.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dagster_storage_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables deploy/dagster.yaml reads, for a postgresql:// URL.

    A Unix-socket URL (the embedded test server: `postgresql://postgres:@/db?host=/dir`) leaves the
    host blank and names the socket folder in PGHOST, which libpq (psycopg2) falls back to.
    """
    parts = urlsplit(url)
    socket_dir = dict(parse_qsl(parts.query)).get("host", "")
    return {
        "DAGSTER_PG_HOST": parts.hostname or "",
        **({"PGHOST": socket_dir} if socket_dir and not parts.hostname else {}),
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": parts.username or "postgres",
        "DAGSTER_PG_PASSWORD": parts.password or "",
        "DAGSTER_PG_DB": parts.path.lstrip("/"),
    }


def process_group_members(pgid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-a", "-g", str(pgid)], capture_output=True, text=True, check=False)
    return found.stdout.splitlines()


def stop(dev: DagsterDev) -> list[str]:
    """SIGTERM to the whole process group, then report anything still alive (and kill it)."""
    pgid = dev.process.pid
    if dev.process.poll() is None:
        os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            dev.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    deadline = time.monotonic() + ORPHAN_EXIT_TIMEOUT_S
    while process_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    leftovers = process_group_members(pgid)
    if leftovers:
        os.killpg(pgid, signal.SIGKILL)
    return leftovers


def dagster_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME on the deployment's own instance configuration (deploy/dagster.yaml)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


@contextlib.contextmanager
def running_dagster_dev(tmp_path: Path, sim: Simulator, env: dict[str, str]) -> Iterator[DagsterDev]:
    """`dagster dev` (webserver + daemon) on a free port; stopped by SIGTERM, nothing may outlive it."""
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", "kis_intel_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = DagsterDev(process, f"http://127.0.0.1:{port}", log, sim)
    try:
        yield dev
    finally:
        leftovers = stop(dev)
    assert not leftovers, f"processes left after SIGTERM: {leftovers}\n{dev.log_tail()}"


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


def server_up(dev: DagsterDev) -> bool:
    try:
        return httpx.get(f"{dev.url}/server_info", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


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
