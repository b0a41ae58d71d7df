"""The database misbehaves under a running product, on a private cluster (never the shared server):
frozen (SIGSTOP) statements, connections and runs fail loudly within the documented bound and name the
database; a restart mid-run is waited out by the limiter without losing a KIS reply; the slots of a
SIGKILLed process come back within the lease."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import pandas as pd
import pytest

from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.ratelimit import LEASE_SECONDS, PostgresRateLimiter
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.tokens import app_key_hash
from kis_intel_assets.settings import CONNECT_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV
from kis_intel_assets.storage import DatabaseTimeouts, DatabaseUnavailableError, connect, migrate
from kis_intel_assets_tests.reliability.private_cluster import PrivateCluster, private_cluster  # noqa: F401
from kis_intel_assets_tests.support.clients import FAST_RETRY, FAST_TOKEN
from kis_intel_assets_tests.support.simulators import SimulatorFactory

FAST = DatabaseTimeouts(
    connect_seconds=2, statement_seconds=2, idle_in_transaction_seconds=2, grace_seconds=1
)


@pytest.fixture(scope="module")
def private_url(private_cluster: PrivateCluster) -> str:  # noqa: F811
    migrate(private_cluster.url)
    return private_cluster.url


def test_a_frozen_database_fails_a_statement_and_a_connect_within_the_bound(
    private_cluster: PrivateCluster,  # noqa: F811
) -> None:
    label = f"127.0.0.1:{private_cluster.port}/postgres"
    conn = connect(private_cluster.url, autocommit=True, timeouts=FAST)
    with private_cluster.frozen():
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match=f"database {label} did not answer within 3 s"):
            conn.execute("SELECT 1")
        statement_seconds = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match=f"cannot connect to database {label}"):
            connect(private_cluster.url, timeouts=FAST)
        connect_seconds = time.monotonic() - started
    print(
        f"\nfrozen: statement failed after {statement_seconds:.1f} s, connect after {connect_seconds:.1f} s"
    )
    assert FAST.client_deadline_seconds <= statement_seconds < FAST.client_deadline_seconds + 2
    assert connect_seconds < FAST.connect_seconds + 2
    with connect(private_cluster.url, timeouts=FAST) as again:  # thawed: the same server answers again
        assert again.execute("SELECT 1").fetchone() == (1,)


def test_a_run_on_a_frozen_database_fails_loudly_naming_it(
    private_cluster: PrivateCluster,  # noqa: F811
    private_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "2")
    monkeypatch.setenv(STATEMENT_TIMEOUT_ENV, "2")
    resources = {"database": DatabaseResource(url=private_url)}
    with private_cluster.frozen():
        started = time.monotonic()
        result = materialize_selection(
            ["stock_money_flow_index"], resources, days=[date(2025, 6, 2)], raise_on_error=False, quiet=True
        )
        seconds = time.monotonic() - started
    failures = [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    print(f"\nrun on a frozen database failed after {seconds:.1f} s: {failures[0].splitlines()[0]}")
    assert not result.success
    assert f"127.0.0.1:{private_cluster.port}/postgres" in failures[0]
    assert seconds < 2 + 2 + 10 + 15  # connect or statement bound, plus the run's own setup


def test_a_restart_mid_run_is_waited_out_and_every_reply_kept(
    private_cluster: PrivateCluster,  # noqa: F811
    private_url: str,
    simulator_factory: SimulatorFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = simulator_factory(seed=5, n_symbols=8, start=date(2024, 1, 2), end=date(2025, 3, 31))
    config = KISConfig(
        app_key="restart-key",
        app_secret="restart-secret",
        database_url=private_url,
        base_url=sim.base_url,
        master_base_url=sim.master_base_url,
        rate_limit_per_sec=20.0,
        retry=FAST_RETRY,
        token=FAST_TOKEN,
    )
    symbols = sim.truth.symbols()
    frames: list[pd.DataFrame] = []
    errors: list[BaseException] = []
    start, end = date(2024, 1, 2), date(2025, 3, 31)

    def fetch() -> None:
        try:
            with KISClient.connect(config) as client:
                for _ in range(3):
                    frames.extend(client.daily_prices(symbol, start, end) for symbol in symbols)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with caplog.at_level(logging.WARNING, logger="kis_intel_assets.kis.ratelimit"):
        worker = threading.Thread(target=fetch)
        worker.start()
        time.sleep(1.0)
        private_cluster.restart()
        worker.join(timeout=120)
    assert not worker.is_alive() and not errors, errors
    truth = sim.truth.daily_prices(start, end, symbols).reset_index(drop=True)
    for attempt in range(3):
        ours = pd.concat(frames[attempt * len(symbols) : (attempt + 1) * len(symbols)]).reset_index(drop=True)
        pd.testing.assert_frame_equal(ours[truth.columns], truth, check_dtype=False)  # + check-only fields
    assert "unreachable, waiting" in caplog.text and "is back after" in caplog.text
    assert not [r for r in sim.stats.requests("restart-key") if r.msg_cd == "EGW00201"]


HOLDER = """
import sys, time
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
limiter = PostgresRateLimiter(sys.argv[1], sys.argv[2], 20)
claims = [limiter.claim() for _ in range(20)]
assert all(claims), claims
print("holding", flush=True)
time.sleep(600)
"""


def test_slots_of_a_killed_process_come_back_within_the_lease(private_url: str) -> None:
    key_hash = app_key_hash(Secret("killed-holder-key"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, private_url, key_hash],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        time.sleep(LEASE_SECONDS + 0.5)  # longer than a lease: only its heartbeat keeps the slots
        limiter = PostgresRateLimiter(private_url, key_hash, 20)
        assert limiter.claim() is None  # all 20 slots held by a live process
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
    killed = time.monotonic()
    first = None
    for _ in range(20):
        with limiter.turn():
            first = first or time.monotonic()
    done = time.monotonic()
    limiter.close()
    print(
        f"\nafter SIGKILL: first slot back in {first - killed:.1f} s, "
        f"20 requests done in {done - killed:.1f} s"
    )
    assert first - killed <= LEASE_SECONDS + 0.5
    assert done - first < 1.5  # then full speed: 20 slots, 1/20 s apart
