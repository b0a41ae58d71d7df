"""The KIS gateway against going direct: throughput and per-call latency, 1 and 3 clients, side by side.

Every client is kis-intel's own KISClient (4 threads each), direct = the real key straight to the
simulator, gateway = a local key through `kis_intel_assets.gateway` in front of the same simulator. Two
budgets: KIS's 20/s (both sides should reach about 20/s: the budget, not the gateway, is the limit) and
the highest budget the client accepts, 100/s (what the gateway itself costs). The gateway runs on a
thread of this process, so its numbers include sharing the interpreter with the clients (a separate
process does better).

Needs PostgreSQL (token store + limiter): KIS_INTEL_BENCH_DATABASE_URL, see benchmarks/rate_limit.py.
Run: `.venv/bin/python -m benchmarks --only gateway [--quick]`
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from benchmarks.rate_limit import limiter_market, scratch_database
from kis_intel_assets.gateway import GatewaySettings, LocalClient, running_gateway
from kis_intel_assets.kis import KISClient, KISConfig, RetrySettings, Secret
from kis_intel_assets.kis.ratelimit import MAX_BUDGET_PER_SEC
from kis_intel_assets.simulator import running_simulator

BUDGETS = (20.0, MAX_BUDGET_PER_SEC)
CLIENT_COUNTS = (1, 3)
THREADS_PER_CLIENT = 4
REAL_KEY, REAL_SECRET = "bench-gateway-real-key", "bench-gateway-real-secret"
RETRY = RetrySettings(backoff_base_seconds=0.05)


def _measure(configs: list[KISConfig], symbols: list[str], calls_per_client: int) -> tuple[float, float]:
    """(requests/s, median seconds per call) for all clients running at once."""
    latencies: list[float] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(KISClient.connect(config)) for config in configs]
        for client in clients:  # token and connections outside the timing
            client.current_price(symbols[0])

        def call(n: int) -> None:
            started = time.perf_counter()
            clients[n % len(clients)].current_price(symbols[n % len(symbols)])
            latencies.append(time.perf_counter() - started)

        total = calls_per_client * len(clients)
        with ThreadPoolExecutor(THREADS_PER_CLIENT * len(clients)) as threads:
            started = time.monotonic()
            list(threads.map(call, range(total)))
            elapsed = time.monotonic() - started
    return total / elapsed, statistics.median(latencies)


def _row(
    budget: float,
    count: int,
    calls: int,
    direct: tuple[float, float],
    through: tuple[float, float],
    busiest: int,
) -> dict:
    (direct_rate, direct_latency), (gateway_rate, gateway_latency) = direct, through
    added = (gateway_latency - direct_latency) * 1e3
    return {
        "benchmark": f"gateway vs direct, {budget:g}/s budget, {count} client(s)",
        "value": round(gateway_rate, 2),
        "unit": "req/s",
        "ratio": round(gateway_rate / direct_rate, 3),
        "note": f"direct {direct_rate:.1f}/s; median call direct {direct_latency * 1e3:.1f} ms, gateway "
        f"{gateway_latency * 1e3:.1f} ms (+{added:.1f} ms); {calls} calls/client; busiest 1 s {busiest}",
    }


def _budget_rows(budget: float, quick: bool) -> list[dict]:
    calls = (40 if quick else 120) if budget < MAX_BUDGET_PER_SEC else (200 if quick else 1000)
    sim_config = limiter_market(budget)
    local_clients = tuple(
        LocalClient(f"bench-{n}", Secret(f"bench-local-{n}"), Secret(f"bench-secret-{n}"))
        for n in range(max(CLIENT_COUNTS))
    )
    rows = []
    with scratch_database() as url, running_simulator(sim_config) as sim:
        real = KISConfig(
            app_key=REAL_KEY,
            app_secret=REAL_SECRET,
            database_url=url,
            base_url=sim.base_url,
            rate_limit_per_sec=budget,
            retry=RETRY,
        )
        settings = GatewaySettings(
            kis=real, clients=local_clients, upstream_concurrency=max(1, min(32, int(budget) // 2))
        )
        with running_gateway(settings) as gateway:
            symbols = sim.truth.symbols()
            for count in CLIENT_COUNTS:
                through = [
                    KISConfig(
                        app_key=c.app_key.reveal(),
                        app_secret=c.app_secret.reveal(),
                        database_url=url,
                        base_url=gateway.base_url,
                        rate_limit_per_sec=budget,
                        retry=RETRY,
                    )
                    for c in local_clients[:count]
                ]
                direct_figures = _measure([real] * count, symbols, calls)
                gateway_figures = _measure(through, symbols, calls)
                busiest = sim.stats.max_requests_in_window(REAL_KEY)
                rows.append(_row(budget, count, calls, direct_figures, gateway_figures, busiest))
    return rows


def run(quick: bool) -> list[dict]:
    return [row for budget in BUDGETS for row in _budget_rows(budget, quick)]
