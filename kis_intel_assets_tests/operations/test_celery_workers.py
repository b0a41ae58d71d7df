"""The ingest and analytics steps run on two real Celery workers (dagster-celery, Redis on 127.0.0.1:6379)
through `kis_intel_assets.celery_definitions`, with the shared PostgreSQL limiter holding across them.

The runs are launched the documented way (`dagster asset materialize -m kis_intel_assets.celery_definitions`)
on a PostgreSQL Dagster instance (deploy/dagster.yaml), whose `kis_api` pool is set to 2 so two KIS
steps do run at once on the two workers, both drawing from one app key at the real budget of 20/s.
Checked: each worker executed steps, the ingested rows equal the simulator's ground truth, the analytics
step wrote its rows, and the simulator never saw more than 20 requests in a 1-second window.

Without a Redis server on 127.0.0.1:6379 the test is skipped (a fresh machine); under CI, where .ci/run
starts Redis and sets KIS_INTEL_REQUIRE_REDIS=1, a missing server is a failure instead.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import KIS_POOL, stock_universe
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support import REPO
from kis_intel_assets_tests.support.backfill_harness import compare_ingest_tables
from kis_intel_assets_tests.support.dagster_dev import dagster_home, dagster_storage_env
from kis_intel_assets_tests.support.processes import wait_until
from kis_intel_assets_tests.support.simulators import (
    SimulatorFactory,
    simulator_environment,
    simulator_resources,
)

BIN = Path(sys.executable).parent
REDIS = ("127.0.0.1", 6379)
REQUIRE_REDIS_ENV = "KIS_INTEL_REQUIRE_REDIS"
APP_KEY, APP_SECRET = "celery-app-key", "celery-app-secret"
RATE = 20.0  # the real KIS budget per app key, enforced by the simulator
WORKERS = 2
DAYS = trading_days(date(2025, 5, 2), date(2025, 6, 2))
ANALYTICS_DAYS = DAYS[-3:]  # the money flow index needs 14 earlier days, which the ingest run stores
INGEST = "daily_prices,investor_trends,short_selling,program_trading,program_trading_market"

WORKER_READY_TIMEOUT_S = 90.0
RUN_TIMEOUT_S = 180.0

pytestmark = pytest.mark.timeout(480)


def redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def broker() -> dict[str, str]:
    if not redis_up():
        if os.environ.get(REQUIRE_REDIS_ENV):
            pytest.fail(f"{REQUIRE_REDIS_ENV} is set but no Redis answers on {REDIS[0]}:{REDIS[1]}")
        pytest.skip(f"no Redis server on {REDIS[0]}:{REDIS[1]} (start one to run the Celery workers test)")
    database = random.randint(2, 15)  # another run of this test on the machine uses other queues
    return {
        "KIS_INTEL_CELERY_BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{database}",
        "KIS_INTEL_CELERY_BACKEND_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{database}",
    }


@dataclass
class Cluster:
    env: dict[str, str]  # what the workers and the launching process share
    simulator: Simulator


@pytest.fixture
def workers(tmp_path: Path, cluster: Cluster) -> Iterator[list[Path]]:
    """Two `dagster-celery` workers of one process each; yields their log files."""
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    processes = []
    for n, log in enumerate(logs):
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [
                        str(BIN / "dagster-celery"),
                        "worker",
                        "start",
                        "-A",
                        "dagster_celery.app",
                        "-y",
                        str(REPO / "deploy" / "celery.yaml"),
                        "-n",
                        f"kis{n}",
                        "--",
                        "--concurrency",
                        "1",
                    ],
                    cwd=tmp_path,
                    env=cluster.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        for process, log in zip(processes, logs, strict=True):
            wait_until(
                f"worker {log.name} to be ready",
                lambda log=log: "ready." in log.read_text(errors="replace"),
                WORKER_READY_TIMEOUT_S,
            )
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        yield logs
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def cluster(
    tmp_path: Path,
    broker: dict[str, str],
    simulator_factory: SimulatorFactory,
    database_url: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Cluster:
    sim = simulator_factory(
        n_symbols=30, start=date(2025, 3, 3), end=date(2025, 6, 30), rate_limit_per_sec=RATE
    )
    assert dg.materialize(
        [stock_universe],
        resources=simulator_resources(sim, database_url, APP_KEY, APP_SECRET, rate_limit_per_sec=RATE),
    ).success
    home = dagster_home(tmp_path)
    storage = dagster_storage_env(empty_database_url)
    for name, value in {**storage, "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        instance.event_log_storage.set_concurrency_slots(KIS_POOL, WORKERS)
    env = {
        **simulator_environment(sim, database_url, APP_KEY, APP_SECRET, RATE),
        **storage,
        **broker,
        "DAGSTER_HOME": str(home),
        "KIS_INTEL_PARTITION_START": "2025-01-02",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the worker wrapper runs `celery`
    }
    return Cluster(env, sim)


def materialize(env: dict[str, str], select: str, days: list[date], logs: list[Path]) -> None:
    command = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "kis_intel_assets.celery_definitions",
        "--select",
        select,
        "--partition-range",
        f"{days[0].isoformat()}...{days[-1].isoformat()}",
    ]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{select} did not finish in {RUN_TIMEOUT_S:.0f}s; workers:\n" + worker_tails(logs))
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:] + worker_tails(logs)


def worker_tails(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for log in logs)


def test_ingest_and_analytics_steps_run_on_two_celery_workers_within_the_rate_limit(
    cluster: Cluster, workers: list[Path], database_url: str
) -> None:
    sim = cluster.simulator
    materialize(cluster.env, INGEST, DAYS, workers)
    materialize(cluster.env, "stock_money_flow_index", ANALYTICS_DAYS, workers)

    executed = [log.read_text(errors="replace").count("succeeded in") for log in workers]
    comparisons = compare_ingest_tables(sim, database_url, DAYS[0], DAYS[-1])
    with connect(database_url) as conn:
        mfi = fetch_frame(conn, "SELECT DISTINCT time FROM stock_mfi")
    windows = sim.stats.requests_in_windows()
    print(
        f"\nsteps per worker {executed}; busiest 1-s window {max(windows.values())} requests "
        f"(limit {RATE:g}); {len(sim.stats.requests(APP_KEY))} requests"
    )
    print("\n".join(map(str, comparisons)))
    assert all(count >= 1 for count in executed), executed
    assert all(c.exact for c in comparisons), [str(c) for c in comparisons if not c.exact]
    assert sorted(mfi["time"]) == ANALYTICS_DAYS
    assert max(windows.values()) <= RATE
    assert not [r for r in sim.stats.requests(APP_KEY) if r.msg_cd == "EGW00201"]
