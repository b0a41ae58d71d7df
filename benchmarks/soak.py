"""Soak: consecutive backfill runs through Dagster while the simulator injects every transient fault kind
(5xx, EGW00201 as HTTP 500 and as HTTP 200, malformed and truncated JSON, slow replies, timeouts, dropped
connections, token expiry) and numeric corruption (`bad_number`: a well-formed number tripled and
shifted, which the schemas must reject) and the market-data database fails under the product (its
connections terminated with pg_terminate_backend, and the whole PostgreSQL cluster — a private one, never the
shared server — restarted mid-run), then every stored row is compared with the simulator's ground truth.
A run that failed (corrupted data rejected, a write cut by the database) is run again, as a user re-runs the
partition; the limiter waits out an outage and every write is all-or-nothing, so nothing half-written stays.

The CI test kis_intel_assets_tests/reliability/test_fault_backfill.py is the short version; this runs
longer, at higher fault rates and with a larger universe, and reports the counts instead of asserting.
Quick: 210 symbols × 20 trading days in one run. Full: 500 symbols × 60 trading days in three runs.
Needs the PostgreSQL server binaries for the private cluster (kis_intel_assets_tests/reliability/
private_cluster.py); without them the soak database is on KIS_INTEL_BENCH_DATABASE_URL's server and only
its own connections are terminated (no restarts).
Run: `.venv/bin/python -m benchmarks --only soak [--quick]`
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from urllib.parse import urlsplit

import psycopg

from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.selection import range_tags
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, SimulatorConfig, running_simulator
from kis_intel_assets_tests.reliability.private_cluster import (
    PrivateCluster,
    running_private_cluster,
    server_binaries_present,
)
from kis_intel_assets_tests.support.backfill_harness import (
    INGEST_ASSETS,
    BackfillOutcome,
    Comparison,
    compare_ingest_tables,
    compare_stock_master,
    kis_resources,
    load_universe,
    materialize_with_one_rerun,
)

RATE = 100.0  # the most one key may be granted (KIS_RATE_LIMIT_PER_SEC is capped there)
READ_TIMEOUT = 2.0
APP_KEY = "soak-app-key"
FAULT_MIX = (
    "latency=0.02,timeout=0.005,http5xx=0.02,egw00201_500=0.015,egw00201_200=0.015,"
    "malformed=0.015,truncated=0.015,drop=0.015,token_expiry=0.005,"
    # Numeric corruption where the data has identities and bounds to be checked against (stock_master's
    # listed shares has none: a tripled share count there is indistinguishable from a real one).
    + ",".join(
        f"bad_number@{tr}=0.006"
        for tr in ("FHKST03010100", "FHPTJ04160001", "FHPST04830000", "FHPPG04650201", "FHPPG04600001")
    )
)
RERUNS = 12  # a rejected asset is re-run; the corruption may hit the re-run too
DATABASE_FAULT_EVERY_SECONDS = 2.0  # on average (uniform 0.5–1.5×), during the backfill runs
RESTART_EVERY = 3  # every third database fault restarts the cluster, the others terminate connections


class DatabaseFaults:
    """A thread failing the soak database under the product while the backfills run: every few seconds
    its connections are terminated (pg_terminate_backend on the database's backends, all but this
    thread's own), and every RESTART_EVERY-th time the private cluster is restarted (fast shutdown: every
    session cut, the server away for about a second)."""

    def __init__(self, database_url: str, cluster: PrivateCluster | None, seed: int = 23) -> None:
        self._url = database_url
        self._database = urlsplit(database_url).path.lstrip("/")
        self._cluster = cluster
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._inject, name="soak-database-faults", daemon=True)
        self.kills = 0
        self.connections_terminated = 0
        self.restarts = 0
        self._error: BaseException | None = None

    @property
    def injected(self) -> int:
        return self.kills + self.restarts

    def note(self) -> str:
        restarts = f"{self.restarts} cluster restarts" if self._cluster else "no restarts (shared server)"
        return (
            f"{self.kills} pg_terminate_backend rounds ({self.connections_terminated} connections cut), "
            f"{restarts}"
        )

    @contextmanager
    def running(self) -> Iterator[DatabaseFaults]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"database fault injection stopped: {self._error}") from self._error

    def _inject(self) -> None:
        try:
            self._inject_until_stopped()
        except BaseException as exc:  # reported when the soak leaves `running`
            self._error = exc

    def _inject_until_stopped(self) -> None:
        while not self._stop.wait(DATABASE_FAULT_EVERY_SECONDS * self._random.uniform(0.5, 1.5)):
            if self._cluster is not None and (self.injected + 1) % RESTART_EVERY == 0:
                self._cluster.restart()
                self.restarts += 1
            else:
                self.connections_terminated += self._terminate_connections()
                self.kills += 1

    def _terminate_connections(self) -> int:
        with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self._database],
            ).fetchone()
        return int(row[0]) if row else 0


def soak(symbols: int, windows: int, window_days: int = 20) -> list[dict]:
    days = trading_days(date(2025, 3, 4), date(2025, 6, 30))[-windows * window_days :]
    chunks = [days[i : i + window_days] for i in range(0, len(days), window_days)]
    config = SimulatorConfig(
        seed=41,
        n_symbols=symbols,
        start=days[0],  # served history is what the per-stock investor endpoint pays for
        end=date(2025, 6, 30),
        rate_limit_per_sec=RATE,
        faults=FaultSpec.parse(FAULT_MIX, seed=17, latency_seconds=0.3, timeout_seconds=READ_TIMEOUT + 1),
        symbol_cache_size=symbols + 10,
        token_min_interval_seconds=0.0,  # an injected expiry must not park the client for KIS's minute
    )
    started = time.monotonic()
    private = running_private_cluster() if server_binaries_present() else nullcontext(None)
    with (
        private as cluster,
        scratch_database(cluster.url if cluster else None) as url,
        running_simulator(config) as sim,
    ):
        resources = kis_resources(
            sim, url, APP_KEY, rate_limit_per_sec=RATE, read_timeout_seconds=READ_TIMEOUT
        )
        outcomes = [load_universe(resources)]
        with DatabaseFaults(url, cluster).running() as database_faults:
            outcomes += [
                materialize_with_one_rerun(INGEST_ASSETS, resources, tags=range_tags(chunk), reruns=RERUNS)
                for chunk in chunks
            ]
        elapsed = time.monotonic() - started
        comparisons = [
            compare_stock_master(sim, url),
            *compare_ingest_tables(sim, url, days[0], days[-1]),
        ]
        injected = sim.stats.fault_counts
        requests = len(sim.stats.requests())
        issuances = sim.stats.token_issuances(APP_KEY)
    retries: Counter[str] = sum((o.retries_by_reason() for o in outcomes), Counter())
    failed = [o for o in outcomes if not o.success]
    label = f"{symbols} symbols × {len(days)} days, {len(chunks)} run(s)"
    return [
        _rows_row(comparisons, label),
        {
            "benchmark": "soak: injected faults",
            "value": sum(injected.values()),
            "unit": "faults",
            "ratio": None,
            "note": _counts(injected),
        },
        {
            "benchmark": "soak: client retries (successful runs)",
            "value": sum(retries.values()),
            "unit": "retries",
            "ratio": None,
            "note": _counts(retries),
        },
        {
            "benchmark": "soak: corrupted numbers injected / runs rejected by schema_valid",
            "value": injected.get("bad_number", 0),
            "unit": "faults",
            "ratio": None,
            "note": f"{sum(o.rejections() for o in outcomes)} failed schema_valid evaluations (not written)",
        },
        {
            "benchmark": "soak: database faults injected (during the backfills)",
            "value": database_faults.injected,
            "unit": "faults",
            "ratio": None,
            "note": database_faults.note(),
        },
        {
            "benchmark": "soak: runs failed and re-run / runs still failing",
            "value": sum(o.reruns for o in outcomes),
            "unit": "runs",
            "ratio": None,
            "note": f"{_counts(_failed_run_causes(outcomes))}; {len(failed)} still failing"
            + (f": {failed[0].failures()[0][:120]}" if failed else ""),
        },
        {
            "benchmark": "soak: token issuances",
            "value": issuances,
            "unit": "tokens",
            "ratio": None,
            "note": f"at most 1 + {injected.get('token_expiry', 0)} injected expiries",
        },
        {
            "benchmark": "soak: wall time",
            "value": round(elapsed, 1),
            "unit": "s",
            "ratio": None,
            "note": f"{requests} KIS requests, {requests / elapsed:.0f}/s, limit {RATE:.0f}/s",
        },
    ]


def _rows_row(comparisons: list[Comparison], label: str) -> dict:
    kinds = {
        "missing": sum(c.missing for c in comparisons),
        "extra": sum(c.extra for c in comparisons),
        "duplicated": sum(c.duplicated for c in comparisons),
        "different": sum(c.different for c in comparisons),
    }
    compared = sum(c.truth_rows for c in comparisons)
    return {
        "benchmark": "soak: rows not equal to ground truth",
        "value": sum(kinds.values()),
        "unit": "rows",
        "ratio": None,
        "note": f"{compared:,} rows compared ({label}); {_counts(kinds)}",
    }


def _failed_run_causes(outcomes: list[BackfillOutcome]) -> Counter[str]:
    """Why each failed run failed: the database went away under it, or the data was rejected (or else)."""
    causes: Counter[str] = Counter()
    for outcome in outcomes:
        for run in outcome.runs:
            if run.success:
                continue
            messages = BackfillOutcome([run]).failures()
            if any("database" in message for message in messages):
                causes["database lost"] += 1
            elif BackfillOutcome([run]).rejections():
                causes["data rejected"] += 1
            else:
                causes["other: " + (messages[0][:80] if messages else "no step failure")] += 1
    return causes


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "none"


def run(quick: bool) -> list[dict]:
    return soak(210, 1) if quick else soak(500, 3)
