"""Daily per-stock collection (program trading, one trading day, every symbol of the universe) KIS-only
against KIS + Kiwoom, side by side in one run, through the product's fetch path (collect.fetch_symbols on
8 workers) and the shared PostgreSQL limiter; both results are compared with ground truth.

KIS is paced at its 20 requests/s. Kiwoom publishes no figure and needs 2 calls per symbol (ka90013 amounts
and quantities), so two Kiwoom budgets are shown: 40/s (the same symbols per second as KIS: "about half
the time" is the target) and the client's default 5/s.

Needs PostgreSQL: KIS_INTEL_BENCH_DATABASE_URL, see benchmarks/rate_limit.py.
Run: `.venv/bin/python -m benchmarks --only kiwoom_source [--quick]`
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.ingest.collect import fetch_symbols
from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kiwoom import KiwoomClient, KiwoomConfig
from kis_intel_assets.kiwoom.routing import routed
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import running_kiwoom_simulator

KIS_RATE = 20.0
KIWOOM_RATES = (40.0, 5.0)
DAY = dt.date(2024, 6, 28)
WORKERS = 8


def _collect(client: object, symbols: list[str]) -> tuple[pd.DataFrame, float]:
    started = time.monotonic()
    outcome = fetch_symbols(client, symbols, lambda c, s: c.program_trading(s, DAY, DAY), WORKERS)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    if outcome.failed or outcome.bad_payloads:
        raise RuntimeError(
            f"collection failed: {list(outcome.failed.items())[:1]} {list(outcome.bad_payloads)[:1]}"
        )
    return pd.concat(outcome.frames, ignore_index=True), elapsed


def _equals_truth(frame: pd.DataFrame, truth: pd.DataFrame) -> bool:
    got = frame.sort_values("symbol").reset_index(drop=True)[list(truth.columns)]
    return got.astype(str).equals(truth.astype(str))


def run(quick: bool) -> list[dict]:
    n_symbols = 200 if quick else 2500
    market = SimulatorConfig(
        seed=7,
        n_symbols=n_symbols,
        start=dt.date(2024, 6, 3),
        end=DAY,
        rate_limit_per_sec=KIS_RATE,
        symbol_cache_size=n_symbols + 10,
    )
    rows = []
    with scratch_database() as url, running_simulator(market) as kis_sim:
        symbols = kis_sim.truth.symbols()
        truth = kis_sim.truth.program_trading(DAY, DAY).sort_values("symbol").reset_index(drop=True)
        kis_config = KISConfig(
            app_key="bench-kiwoom-kis",
            app_secret="bench-secret",
            database_url=url,
            base_url=kis_sim.base_url,
            master_base_url=kis_sim.master_base_url,
            rate_limit_per_sec=KIS_RATE,
        )
        with KISClient.connect(kis_config) as kis:
            kis.program_trading(symbols[0], DAY, DAY)  # token and connections outside the timing
            kis_frame, kis_seconds = _collect(kis, symbols)
            rows.append(
                {
                    "benchmark": f"daily program_trading {n_symbols} stocks, KIS only",
                    "value": round(kis_seconds, 2),
                    "unit": "s",
                    "ratio": 1.0,
                    "note": f"equals truth: {_equals_truth(kis_frame, truth)}; KIS {KIS_RATE:g}/s",
                }
            )
            for rate in KIWOOM_RATES:
                with running_kiwoom_simulator(
                    kis_sim.model, KiwoomSimSettings(rate_limit_per_sec=rate)
                ) as kw_sim:
                    kiwoom_config = KiwoomConfig(
                        app_key=f"bench-kiwoom-{rate:g}",
                        app_secret="bench-kiwoom-secret",
                        database_url=url,
                        base_url=kw_sim.base_url,
                        rate_limit_per_sec=rate,
                    )
                    client = routed(
                        kis,
                        lambda config=kiwoom_config: KiwoomClient(config),
                        "both",
                        kis_rate_per_sec=KIS_RATE,
                        kiwoom_rate_per_sec=rate,
                    )
                    try:
                        client.program_trading(symbols[1], DAY, DAY)  # Kiwoom token outside the timing
                        frame, seconds = _collect(client, symbols)
                        split = client.source_metadata()["symbols_by_source"]
                    finally:
                        client.close()
                rows.append(
                    {
                        "benchmark": f"daily program_trading {n_symbols} stocks, KIS + Kiwoom {rate:g}/s",
                        "value": round(seconds, 2),
                        "unit": "s",
                        "ratio": round(seconds / kis_seconds, 3),
                        "note": f"equals truth: {_equals_truth(frame, truth)}; symbols by source {split}",
                    }
                )
    return rows
