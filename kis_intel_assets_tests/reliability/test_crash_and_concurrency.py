"""Runs that die or overlap: a `dagster asset materialize` process killed with SIGKILL in the middle of
writing a partition (then re-run in this process), and two runs materializing the same partition at once.

The kill is made to land mid-write deterministically: the test holds a SHARE lock on
program_trading_market, so the run's write transaction inserts program_trading and then waits on the
lock; the test sees the waiting backend in pg_stat_activity, kills the process group and only then
releases the lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import date

import dagster as dg
import psycopg
import pytest

from kis_intel_assets.defs.ingest.assets import investor_trends, program_trading, short_selling
from kis_intel_assets.defs.selection import range_tags
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.tokens import app_key_hash
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets_tests.support.backfill_harness import (
    QUIET,
    compare_frames,
    compare_ingest_tables,
    kis_resources,
    load_universe,
    materialize_with_one_rerun,
    table_frame,
)
from kis_intel_assets_tests.support.simulators import (
    SimulatorFactory,
    dagster_materialize_command,
    simulator_environment,
)

pytestmark = pytest.mark.faults

SIM_START, SIM_END = date(2025, 4, 1), date(2025, 6, 30)
CRASH_DAYS = trading_days(date(2025, 5, 26), date(2025, 6, 5))
CRASH_KEY = "crash-app-key"
APP_SECRET = "reliability-app-secret"
WAIT_SECONDS = 120.0


def dagster_materialize(sim: Simulator, database_url: str, select: str, days: list[date]) -> subprocess.Popen:
    """The Dagster CLI in its own process group, configured only through the environment."""
    env = simulator_environment(sim, database_url, CRASH_KEY, APP_SECRET, 100)
    command = dagster_materialize_command(
        select, "--partition-range", f"{days[0].isoformat()}...{days[-1].isoformat()}"
    )
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def backend_waiting_on(conn: psycopg.Connection, table: str) -> int | None:
    """The pid of a backend blocked on a lock while writing `table`, if any."""
    row = conn.execute(
        """SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE %s""",
        (f"%INSERT INTO%{table}%",),
    ).fetchone()
    return row[0] if row else None


def holds_row_lock_on(conn: psycopg.Connection, pid: int, table: str) -> bool:
    row = conn.execute(
        """SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = %s AND c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted""",
        (pid, table),
    ).fetchone()
    return row is not None


def wait_for(predicate, what: str, process: subprocess.Popen | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"process ended before {what}: {process.stdout.read()[-3000:]}")  # type: ignore[union-attr]
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def count_rows(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]


def test_a_run_killed_mid_write_leaves_no_partial_partition_and_a_rerun_completes(
    simulator_factory: SimulatorFactory, database_url: str
) -> None:
    sim = simulator_factory(
        seed=21,
        n_symbols=16,
        start=SIM_START,
        end=SIM_END,
        rate_limit_per_sec=100,
        faults=FaultSpec.parse("latency=0.2", seed=2, latency_seconds=0.05),
    )
    resources = kis_resources(sim, database_url, CRASH_KEY, app_secret=APP_SECRET, rate_limit_per_sec=100)
    assert load_universe(resources).success

    with psycopg.connect(database_url) as blocker, psycopg.connect(database_url, autocommit=True) as watcher:
        blocker.execute("LOCK TABLE program_trading_market IN SHARE MODE")
        victim = dagster_materialize(sim, database_url, "program_trading,program_trading_market", CRASH_DAYS)
        try:
            backend = wait_for(
                lambda: backend_waiting_on(watcher, "program_trading_market"), "the blocked write", victim
            )
            # The same transaction has already inserted this range's per-stock program trading rows.
            assert holds_row_lock_on(watcher, backend, "program_trading")
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
        finally:
            if victim.poll() is None:
                os.killpg(victim.pid, signal.SIGKILL)
            victim.stdout.close()  # type: ignore[union-attr]
        blocker.rollback()  # the orphaned backend now gets the lock, finds its client gone and rolls back
        wait_for(
            lambda: watcher.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", (backend,)
            ).fetchone()[0],
            "the killed run's backend to end",
        )
        advisory_locks = watcher.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()

    assert victim.returncode == -signal.SIGKILL
    assert count_rows(database_url, "program_trading") == 0
    assert count_rows(database_url, "program_trading_market") == 0
    assert advisory_locks == (0,)  # the token store's issuance lock died with its transaction
    limiter = PostgresRateLimiter(database_url, app_key_hash(Secret(CRASH_KEY)), 50.0)
    try:
        started = time.monotonic()
        with limiter.turn() as waited:
            assert waited < 1.0
        assert time.monotonic() - started < 5.0  # the limiter row is not held by the dead run
    finally:
        limiter.close()

    rerun = materialize_with_one_rerun([program_trading], resources, tags=range_tags(CRASH_DAYS))
    assert rerun.success and rerun.reruns == 0, rerun.failures()
    stored = compare_ingest_tables(sim, database_url, CRASH_DAYS[0], CRASH_DAYS[-1])
    comparisons = {c.table: c for c in stored}
    for table in ("program_trading", "program_trading_market"):
        assert comparisons[table].exact, str(comparisons[table])
    # Three runs in two processes (universe and re-run in this one, the killed run in its own): one token.
    assert sim.stats.token_issuances(CRASH_KEY) == 1


def test_two_runs_of_the_same_partition_at_once_stay_consistent_and_within_the_key_limit(
    simulator_factory: SimulatorFactory, database_url: str
) -> None:
    limit = 20.0
    sim = simulator_factory(seed=23, n_symbols=12, start=SIM_START, end=SIM_END, rate_limit_per_sec=limit)
    # Few fetch threads: the simulator shares this process, and a starved event loop stamps arrivals late
    # and then in a burst, which would measure its own scheduling rather than the clients' pacing.
    resources = kis_resources(sim, database_url, "shared-app-key", rate_limit_per_sec=limit, fetch_workers=2)
    assert load_universe(resources).success
    days = trading_days(date(2025, 6, 2), date(2025, 6, 9))
    partition = days[2].isoformat()
    results: dict[str, dg.ExecuteInProcessResult] = {}
    errors: list[BaseException] = []

    def run(name: str, **kwargs: object) -> None:
        try:
            results[name] = dg.materialize(
                [investor_trends, short_selling],
                resources=resources,
                raise_on_error=False,
                run_config=QUIET,
                **kwargs,  # type: ignore[arg-type]
            )
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("range",), kwargs={"tags": range_tags(days)}),
        threading.Thread(target=run, args=("partition",), kwargs={"partition_key": partition}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)

    assert not errors and not any(t.is_alive() for t in threads), errors
    assert results["range"].success and results["partition"].success
    for table, truth in (
        ("investor_trends", sim.truth.investor_trends(days[0], days[-1])),
        ("short_selling", sim.truth.short_selling(days[0], days[-1])),
    ):
        comparison = compare_frames(table, table_frame(database_url, table), truth, ["symbol", "time"])
        assert comparison.exact, str(comparison)
    busiest_second = sim.stats.max_requests_in_window("shared-app-key")
    print(f"\nbusiest 1-s window: {busiest_second} requests (limit {limit:.0f}/s)")
    assert busiest_second <= limit
    assert not [r for r in sim.stats.requests("shared-app-key") if r.msg_cd == "EGW00201"]
    assert sim.stats.token_issuances("shared-app-key") == 1
