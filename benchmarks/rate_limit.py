"""Shared rate limiter benchmark: sustained request rate through the KIS client against a 20/s
simulator (1 and 2 processes), and the limiter's own admission latency and burst shape for the two options
that were evaluated (our PostgreSQL slots + spacing vs pyrate-limiter 4.5.1's PostgresBucket).

Needs PostgreSQL: KIS_INTEL_BENCH_DATABASE_URL (server URL; default postgresql://postgres@127.0.0.1:5432/postgres).
A scratch database is created, migrated and dropped.
Run: `.venv/bin/python -m benchmarks --only rate_limit [--quick]`
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from kis_intel_assets.kis import KISClient, KISConfig, RetrySettings, Secret
from kis_intel_assets.kis.ratelimit import LEASE_SECONDS, PostgresRateLimiter
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.kis.tokens import app_key_hash
from kis_intel_assets.simulator.stats import max_in_window
from kis_intel_assets.storage import migrate

SERVER_URL_ENV = "KIS_INTEL_BENCH_DATABASE_URL"
if TYPE_CHECKING:
    from kis_intel_assets.simulator import Simulator, SimulatorConfig

LIMIT_PER_SEC = 20.0
APP_KEY, APP_SECRET = "bench-app-key", "bench-app-secret"


@contextmanager
def scratch_database(server: str | None = None) -> Iterator[str]:
    """A migrated database of its own on `server` (default: KIS_INTEL_BENCH_DATABASE_URL), dropped after."""
    server = server or os.environ.get(SERVER_URL_ENV, "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"kis_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _OneConnectionPool:
    """The part of psycopg_pool.ConnectionPool that PostgresBucket uses (psycopg_pool is not installed):
    `connection()` yields a connection inside a transaction that commits on exit."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url)
        self._lock = threading.Lock()
        self.closed = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self._lock, self._conn.transaction():
            yield self._conn

    def close(self) -> None:
        self._conn.close()
        self.closed = True


def limiter_market(rate_limit_per_sec: float = LIMIT_PER_SEC, **settings: Any) -> SimulatorConfig:
    """20 stocks over one quarter: the limiter, pool and gateway benchmarks count requests, not data, so
    they share this small market (more SimulatorConfig settings as keywords)."""
    from kis_intel_assets.simulator import SimulatorConfig

    return SimulatorConfig(
        seed=7,
        n_symbols=20,
        start=dt.date(2025, 1, 2),
        end=dt.date(2025, 3, 31),
        rate_limit_per_sec=rate_limit_per_sec,
        token_min_interval_seconds=1.0,
        **settings,
    )


def _latencies(admit: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        admit()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _latency_rows(name: str, samples: list[float], note: str) -> list[dict]:
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
    return [
        {
            "benchmark": f"{name} acquire p50",
            "value": round(statistics.median(samples), 3),
            "unit": "ms",
            "ratio": None,
            "note": note,
        },
        {
            "benchmark": f"{name} acquire p99",
            "value": round(p99, 3),
            "unit": "ms",
            "ratio": None,
            "note": note,
        },
    ]


def limiter_latency(url: str, n: int) -> list[dict]:
    """Admission cost, sleeps excluded: our claim + release at the real 20 slots (the claims are only
    timed, never waited for), and pyrate's try_acquire at a rate so high that nobody waits."""
    from pyrate_limiter import Duration, Limiter, PostgresBucket, Rate

    ours = PostgresRateLimiter(url, app_key_hash(Secret("latency-key")), requests_per_window=LIMIT_PER_SEC)

    def claim_and_release() -> None:
        claim = ours.claim()
        if claim is not None:
            ours.release(claim)

    rows = _latency_rows(
        "slots", _latencies(claim_and_release, n), "claim (one function call) + release (one UPDATE)"
    )
    ours.close()
    pool = _OneConnectionPool(url)
    limiter = Limiter(PostgresBucket(pool, "bench_latency", [Rate(1_000_000, Duration.SECOND)]))  # type: ignore[arg-type]
    samples = _latencies(lambda: limiter.try_acquire("kis"), n)
    rows += _latency_rows("pyrate PostgresBucket", samples, "clock + lock + count + insert (+ leak thread)")
    limiter.close()
    return rows


def _pyrate_worker(url: str, n: int, queue: multiprocessing.Queue) -> None:
    from pyrate_limiter import Duration, Limiter, PostgresBucket, Rate

    limiter = Limiter(
        PostgresBucket(
            _OneConnectionPool(url),
            "bench_shape",  # type: ignore[arg-type]
            [Rate(int(LIMIT_PER_SEC), Duration.SECOND)],
        )
    )
    stamps = []
    for _ in range(n):
        limiter.try_acquire("kis")
        stamps.append(time.time())
    limiter.close()
    queue.put(stamps)


def _slots_worker(url: str, n: int, queue: multiprocessing.Queue) -> None:
    rate = LIMIT_PER_SEC * KISConfig.rate_limit_safety
    limiter = PostgresRateLimiter(url, app_key_hash(Secret("shape-key")), rate)
    stamps = []
    for _ in range(n):
        with limiter.turn():
            stamps.append(time.time())
    limiter.close()
    queue.put(stamps)


def grant_shape(url: str, n: int) -> list[dict]:
    """Two processes, one 20/s budget: the grant times each limiter hands out (no HTTP involved)."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for name, worker in (("slots", _slots_worker), ("pyrate PostgresBucket", _pyrate_worker)):
        queue = ctx.Queue()
        procs = [ctx.Process(target=worker, args=(url, n, queue)) for _ in range(2)]
        for proc in procs:
            proc.start()
        stamps = [s for _ in procs for s in queue.get(timeout=300)]
        for proc in procs:
            proc.join()
        stamps.sort()
        span = stamps[-1] - stamps[0]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        rows += [
            {
                "benchmark": f"{name} 2-proc grant rate",
                "value": round((len(stamps) - 1) / span, 2),
                "unit": "grants/s",
                "ratio": round((len(stamps) - 1) / span / LIMIT_PER_SEC, 3),
                "note": f"{len(stamps)} grants",
            },
            {
                "benchmark": f"{name} 2-proc min grant gap",
                "value": round(min(gaps) * 1000, 2),
                "unit": "ms",
                "ratio": None,
                "note": "0 = bursts; 50 = even spacing at 20/s",
            },
            {
                "benchmark": f"{name} 2-proc max grants per 1-s window",
                "value": max_in_window(stamps),
                "unit": "grants",
                "ratio": round(max_in_window(stamps) / LIMIT_PER_SEC, 3),
                "note": "client side; network jitter is added on top",
            },
        ]
    return rows


def _client_config(sim: Simulator, url: str, app_key: str) -> KISConfig:
    """A client of `sim` on `app_key` at the 20/s budget, retrying fast so waits are the limiter's."""
    return KISConfig(
        app_key=app_key,
        app_secret=APP_SECRET,
        database_url=url,
        base_url=sim.base_url,
        master_base_url=sim.master_base_url,
        rate_limit_per_sec=LIMIT_PER_SEC,
        retry=RetrySettings(backoff_base_seconds=0.05),
    )


def _client_worker(config: KISConfig, symbols: list[str], n: int, queue: multiprocessing.Queue) -> None:
    with KISClient.connect(config) as client:
        client.current_price(symbols[0])  # token + connection warm-up, excluded from the timing
        started = time.time()
        for i in range(n):
            client.current_price(symbols[i % len(symbols)])
        queue.put((started, time.time(), client.metrics.snapshot()))


def sustained_rate(url: str, n: int) -> list[dict]:
    from kis_intel_assets.simulator import running_simulator

    sim_config = limiter_market()
    rows = []
    ctx = multiprocessing.get_context("spawn")
    with running_simulator(sim_config, host="127.0.0.1", port=0) as sim:
        symbols = sim.truth.symbols()[:10]
        for processes in (1, 2):
            config = _client_config(sim, url, f"{APP_KEY}-{processes}")
            queue = ctx.Queue()
            procs = [
                ctx.Process(target=_client_worker, args=(config, symbols, n, queue)) for _ in range(processes)
            ]
            for proc in procs:
                proc.start()
            results = [queue.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join()
            span = max(r[1] for r in results) - min(r[0] for r in results)
            rate = processes * n / span
            retries = sum(r[2]["retries_total"] for r in results)
            rows += [
                {
                    "benchmark": f"sustained rate, {processes} process(es)",
                    "value": round(rate, 2),
                    "unit": "req/s",
                    "ratio": round(rate / LIMIT_PER_SEC, 3),
                    "note": f"{processes * n} requests, {retries} retries, limit {LIMIT_PER_SEC:g}/s",
                },
                {
                    "benchmark": f"server max per 1-s window, {processes} process(es)",
                    "value": sim.stats.max_requests_in_window(config.app_key.reveal()),
                    "unit": "requests",
                    "ratio": None,
                    "note": f"simulator's count (limit {LIMIT_PER_SEC:g})",
                },
            ]
    return rows


def _hold_every_slot(url: str, key_hash: str, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    limiter = PostgresRateLimiter(url, key_hash, LIMIT_PER_SEC)
    held = [limiter.claim() for _ in range(int(LIMIT_PER_SEC))]
    assert all(held)
    ready.set()  # type: ignore[attr-defined]
    time.sleep(600)  # until SIGKILLed, heartbeat running


def dead_holder_recovery(url: str) -> list[dict]:
    """A process holding every slot of a key is SIGKILLed: how soon the next process gets full speed."""
    key_hash = app_key_hash(Secret("bench-dead-holder"))
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_every_slot, args=(url, key_hash, ready))
    holder.start()
    ready.wait(120)
    holder.kill()
    holder.join()
    killed = time.monotonic()
    limiter = PostgresRateLimiter(url, key_hash, LIMIT_PER_SEC)
    stamps = []
    for _ in range(2 * int(LIMIT_PER_SEC)):
        with limiter.turn():
            stamps.append(time.monotonic())
    limiter.close()
    second_half = stamps[int(LIMIT_PER_SEC) :]
    rate = (len(second_half) - 1) / (second_half[-1] - second_half[0])
    return [
        {
            "benchmark": "slots back after SIGKILL of their holder",
            "value": round(stamps[0] - killed, 2),
            "unit": "s",
            "ratio": None,
            "note": f"lease {LEASE_SECONDS:g} s renewed every second (was ~21 s)",
        },
        {
            "benchmark": "rate right after the reclaim",
            "value": round(rate, 2),
            "unit": "req/s",
            "ratio": round(rate / LIMIT_PER_SEC, 3),
            "note": "limiter turns without a request, 20 slots",
        },
    ]


def new_key_adaptation(url: str, n: int) -> list[dict]:
    """A 20/s budget on a key KIS holds to 3/s (a new customer's): what the adaptive budget settles on."""
    from kis_intel_assets.simulator import running_simulator

    sim_config = limiter_market(new_key_rate_limit_per_sec=3)
    with running_simulator(sim_config, host="127.0.0.1", port=0) as sim:
        config = _client_config(sim, url, "bench-new-key")
        symbols = sim.truth.symbols()
        with KISSession(config) as session:
            client = KISClient(session)
            started = time.time()
            for i in range(n):
                client.current_price(symbols[i % len(symbols)])
            seconds = time.time() - started
            metrics = client.metrics.snapshot()
            budget = session._limiter.budget_in_force
    rate = n / seconds
    return [
        {
            "benchmark": "new key held to 3/s, 20/s budget: rate",
            "value": round(rate, 2),
            "unit": "req/s",
            "ratio": round(rate / 3, 3),
            "note": f"{n} calls, 0 failed, {metrics['retries_total']} EGW00201 retries",
        },
        {
            "benchmark": "new key: budget settled at",
            "value": round(budget, 2),
            "unit": "req/s",
            "ratio": None,
            "note": " ; ".join(metrics["rate_limit_budget_changes"]),
        },
    ]


def run(quick: bool) -> list[dict]:
    with scratch_database() as url:
        rows = limiter_latency(url, 200 if quick else 1000)
        rows += grant_shape(url, 40 if quick else 100)
        rows += sustained_rate(url, 60 if quick else 200)
        rows += dead_holder_recovery(url)
        rows += new_key_adaptation(url, 30 if quick else 90)
    return rows
