"""Multi-key scaling: the same calls through a KISClient over a KISSessionPool with 1, 2 and 4 app keys
against a simulator that admits 20 requests/s per key. Ideal throughput is keys × 20/s; the client
deliberately paces at 0.90 of the limit (kis/ratelimit.py), so 0.90 of ideal is the best reachable ratio.

Needs PostgreSQL (token store + limiter): KIS_INTEL_BENCH_DATABASE_URL, see benchmarks/rate_limit.py.
Run: `.venv/bin/python -m benchmarks --only multi_key [--quick]`
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.rate_limit import limiter_market, scratch_database
from kis_intel_assets.kis import KISClient, KISConfig, RetrySettings
from kis_intel_assets.kis.pool import KISSessionPool
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets.simulator.stats import fingerprint

LIMIT_PER_SEC = 20.0
KEY_COUNTS = (1, 2, 4)
WORKERS_PER_KEY = 3  # enough in-flight calls that every key always has one waiting for its slot


def run(quick: bool) -> list[dict]:
    calls_per_key = 60 if quick else 300
    sim_config = limiter_market(LIMIT_PER_SEC)
    rows = []
    with scratch_database() as url, running_simulator(sim_config) as sim:
        symbols = sim.truth.symbols()
        for keys in KEY_COUNTS:
            configs = [
                KISConfig(
                    app_key=f"bench-multi-{keys}-{n}",
                    app_secret=f"bench-secret-{n}",
                    database_url=url,
                    base_url=sim.base_url,
                    master_base_url=sim.master_base_url,
                    rate_limit_per_sec=LIMIT_PER_SEC,
                    retry=RetrySettings(backoff_base_seconds=0.05),
                )
                for n in range(keys)
            ]
            calls = calls_per_key * keys
            with (
                KISClient(KISSessionPool(configs)) as pool,
                ThreadPoolExecutor(WORKERS_PER_KEY * keys) as threads,
            ):
                for n in range(keys):  # one call per key first: tokens and connections outside the timing
                    pool.current_price(symbols[n])
                started = time.monotonic()
                list(threads.map(lambda i: pool.current_price(symbols[i % len(symbols)]), range(calls)))
                elapsed = time.monotonic() - started
                metrics = pool.metrics.snapshot()
            rate = calls / elapsed
            windows = sim.stats.requests_in_windows()
            busiest = max(windows.get(fingerprint(config.app_key.reveal()), 0) for config in configs)
            rows.append(
                {
                    "benchmark": f"multi-key throughput, {keys} key(s)",
                    "value": round(rate, 2),
                    "unit": "req/s",
                    "ratio": round(rate / (keys * LIMIT_PER_SEC), 3),
                    "note": f"{calls} calls in {elapsed:.1f} s; ideal {keys * LIMIT_PER_SEC:g}/s; per key "
                    f"{metrics['requests_by_key']}; retries {metrics['retries_total']}; "
                    f"busiest key {busiest}/1 s (limit {LIMIT_PER_SEC:g})",
                }
            )
    return rows
