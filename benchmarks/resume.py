"""Resuming a failed long backfill: the re-run after a failure at 90 % vs the first run, in KIS requests
and seconds at the real budget of 20 requests/s.

The last 10 % of the universe (in symbol order, the order the fetch pool works through) answers HTTP 5xx
to every request, so the one-year daily-price backfill fails after the client's retries; the faults are
lifted and the same window is run again. Without the fetch cache the re-run would repeat every request.
Quick mode: 100 symbols; full mode: 500. Needs PostgreSQL (KIS_INTEL_BENCH_DATABASE_URL, see
benchmarks/rate_limit.py). Run: `.venv/bin/python -m benchmarks --only resume [--quick]`
"""

from __future__ import annotations

import time
from datetime import date

import dagster as dg

from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.ingest.assets import DAILY_PRICES, stock_universe
from kis_intel_assets.defs.ingest.collect import ingest_symbol_dataset
from kis_intel_assets.defs.resources import DatabaseResource, KISResource, resources_against
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, SimulatorConfig, running_simulator

LIMIT_PER_SEC = 20.0
TR_ID = "FHKST03010100"
APP_KEY = "bench-resume-key"
DAYS = trading_days(date(2024, 6, 3), date(2025, 5, 30))


def _backfill(kis: KISResource, database: DatabaseResource, symbols: list[str]) -> float:
    """Seconds of one attempt of the window (the asset body); a failure counts as a finished attempt."""
    started = time.monotonic()
    try:
        with kis.client() as client:
            ingest_symbol_dataset(
                dg.build_asset_context(),
                client,
                database,
                DAILY_PRICES,
                symbols,
                DAYS[0],
                DAYS[-1],
                kis.fetch_workers,
            )
    except dg.Failure:
        pass
    return time.monotonic() - started


def run(quick: bool) -> list[dict]:
    n_symbols = 100 if quick else 500
    config = SimulatorConfig(
        seed=7,
        n_symbols=n_symbols,
        start=date(2024, 5, 2),
        end=date(2025, 6, 30),
        rate_limit_per_sec=LIMIT_PER_SEC,
        symbol_cache_size=n_symbols + 10,
    )
    with scratch_database() as url, running_simulator(config) as sim:
        resources = resources_against(
            sim.base_url, url, APP_KEY, "bench-secret", rate_limit_per_sec=LIMIT_PER_SEC
        )
        database, kis = resources["database"], resources["kis"]
        assert dg.materialize([stock_universe], resources=resources).success
        symbols = sorted(sim.truth.symbols())
        failing = symbols[int(len(symbols) * 0.9) :]
        sim.set_faults(FaultSpec.parse(",".join(f"http5xx@{TR_ID}:{symbol}=1" for symbol in failing)))
        first_seconds = _backfill(kis, database, symbols)
        first = len(sim.stats.requests(APP_KEY, TR_ID))
        sim.set_faults(None)
        rerun_seconds = _backfill(kis, database, symbols)
        rerun = len(sim.stats.requests(APP_KEY, TR_ID)) - first
    print(
        f"resume: first run {first} requests in {first_seconds:.1f} s (failed, {len(failing)} of "
        f"{len(symbols)} symbols), re-run {rerun} requests in {rerun_seconds:.1f} s"
    )
    return [
        {
            "benchmark": f"re-run after a failure at 90 %, {len(symbols)} symbols × 1 year",
            "value": rerun,
            "unit": "requests",
            "ratio": round(rerun / first, 3),
            "note": f"first run {first} requests in {first_seconds:.1f} s; re-run {rerun_seconds:.1f} s "
            f"(only the {len(failing)} missing symbols)",
        },
    ]
