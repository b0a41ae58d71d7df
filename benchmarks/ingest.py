"""Ingestion speed against its floors, through the real Dagster assets and the KIS simulator:

- daily collection of one trading day for a whole universe at 20 requests/s, as a ratio to the floor
  (requests ÷ 20 s; target ≤ 1.05);
- a one-year backfill's call count per endpoint vs ceil(days / rows per call) per symbol, at the page sizes
  known from live KIS (simulator/paging.py: 100 candles, 30 sessions for FHPTJ04160001/FHPPG04650201,
  100 where unknown), under each paging style the simulator can switch to;
- bulk upsert (COPY + one INSERT … ON CONFLICT) vs row-by-row INSERT … ON CONFLICT, rows/s;
- `kis-intel demo` end to end in a temporary KIS_INTEL_HOME on a fresh database.

Full mode collects the default 2,500-symbol universe (10,000 calls ≈ 8.5 min at 20/s); quick mode 150
symbols, where the fixed per-run cost weighs more. Needs PostgreSQL: KIS_INTEL_BENCH_DATABASE_URL (see
benchmarks/rate_limit.py).
Run: `.venv/bin/python -m benchmarks --only ingest [--quick]`
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.ingest.assets import daily_prices, investor_trends, program_trading, short_selling
from kis_intel_assets.defs.resources import resources_against
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.storage import connect, upsert_frame

LIMIT_PER_SEC = 20.0
SIM_START, SIM_END = date(2024, 5, 2), date(2025, 6, 30)
DAY = "2025-06-27"
SYMBOL_ASSETS = [daily_prices, investor_trends, short_selling, program_trading]
SYMBOL_TRS = {
    "FHKST03010100": "daily_prices",
    "FHPTJ04160001": "investor_trends",
    "FHPST04830000": "short_selling",
    "FHPPG04650201": "program_trading",
}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _resources(sim: Simulator, url: str, rate: float, app_key: str) -> dict[str, object]:
    return resources_against(sim.base_url, url, app_key, "bench-secret", rate_limit_per_sec=rate)


def load_universe(sim: Simulator, url: str) -> int:
    """stock_master straight from the simulator's ground truth (the universe refresh is not measured)."""
    master = sim.truth.stock_master().assign(last_seen=SIM_END)
    with connect(url) as conn:
        upsert_frame(conn, "stock_master", master)
    return int(master["symbol"].nunique())


def _serve(config: SimulatorConfig, port: int, ready: Event, stop: Event) -> None:
    with running_simulator(config, port=port):
        ready.set()
        stop.wait()


@contextmanager
def simulator_process(config: SimulatorConfig) -> Iterator[str]:
    """The simulator in its own process, like the real KIS server: its CPU (JSON for 100-row pages) does
    not compete with the client's threads for this process's GIL. Yields the base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    process = context.Process(target=_serve, args=(config, port, ready, stop), daemon=True)
    process.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("simulator process did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        process.join(30)


def daily_market(n_symbols: int) -> SimulatorConfig:
    """The market a one-day collection at the 20/s budget runs against. Every asset walks the whole
    universe, so an LRU smaller than it would regenerate each stock's series on every request and make the
    simulator, not the budget, the bottleneck."""
    return SimulatorConfig(
        seed=3,
        n_symbols=n_symbols,
        start=SIM_START,
        end=SIM_END,
        rate_limit_per_sec=LIMIT_PER_SEC,
        symbol_cache_size=n_symbols,
    )


def daily_collection(n_symbols: int) -> list[dict]:
    config = daily_market(n_symbols)
    with scratch_database() as url, simulator_process(config) as base_url:
        symbols = load_universe(Simulator(config), url)
        resources = resources_against(
            base_url, url, "bench-daily-key", "bench-secret", rate_limit_per_sec=LIMIT_PER_SEC
        )
        started = time.monotonic()
        result = dg.materialize(
            SYMBOL_ASSETS,
            resources=resources,
            partition_key=DAY,
            run_config=copy.deepcopy(QUIET),
        )
        elapsed = time.monotonic() - started
    assert result.success
    metadata = [
        event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    ]
    requests = sum(int(m["requests"].value) for m in metadata)
    fetching = sum(float(m["seconds"].value) for m in metadata)
    refused = sum(int(m["retries_by_reason"].value.get("rate_limited", 0)) for m in metadata)
    floor = requests / LIMIT_PER_SEC
    return [
        {
            "benchmark": f"daily collection, {symbols} symbols × 4 datasets",
            "value": round(elapsed, 1),
            "unit": "s",
            "ratio": round(elapsed / floor, 3),
            "note": f"one run of 4 assets, {requests} requests, floor {floor:.1f} s at 20/s (target ≤ 1.05); "
            f"EGW00201 retries: {refused}",
        },
        {
            "benchmark": "  of which inside the asset bodies",
            "value": round(fetching, 1),
            "unit": "s",
            "ratio": round(fetching / floor, 3),
            "note": "fetch + validate + upsert; the rest is Dagster run/step setup",
        },
    ]


def backfill_calls(n_symbols: int, paging_style: str = "known") -> list[dict]:
    """One single-run backfill over the last 250 trading days; calls counted per TR ID."""
    window = trading_days(SIM_END - timedelta(days=400), SIM_END)[-250:]
    days = len(window)
    config = SimulatorConfig(
        seed=4,
        n_symbols=n_symbols,
        start=SIM_START,
        end=SIM_END,
        rate_limit_per_sec=100,
        paging_style=paging_style,
    )
    tags = {
        "dagster/asset_partition_range_start": window[0].isoformat(),
        "dagster/asset_partition_range_end": window[-1].isoformat(),
    }
    with scratch_database() as url, running_simulator(config) as sim:
        symbols = load_universe(sim, url)
        result = dg.materialize(
            SYMBOL_ASSETS,
            resources=_resources(sim, url, 100, "bench-backfill-key"),
            tags=tags,
            run_config=copy.deepcopy(QUIET),
        )
        calls = Counter(record.tr_id for record in sim.stats.requests() if record.msg_cd != "EGW00201")
    assert result.success
    rows = []
    for tr_id, table in (*SYMBOL_TRS.items(), ("FHPPG04600001", "program_trading_market")):
        per_call = config.rows_per_call(tr_id)
        units = 2 if tr_id == "FHPPG04600001" else symbols
        floor = math.ceil(days / per_call) * units
        rows.append(
            {
                "benchmark": f"1-year backfill calls, {table} ({paging_style} paging)",
                "value": calls[tr_id],
                "unit": "calls",
                "ratio": round(calls[tr_id] / floor, 3),
                "note": f"{tr_id}: {days} trading days × {units} {'markets' if units == 2 else 'symbols'}; "
                f"floor ceil({days}/{per_call}) × {units} = {floor}",
            }
        )
    return rows


def _price_rows(n_rows: int, offset: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2015-01-01", periods=2_000).date
    index = np.arange(offset, offset + n_rows)
    close = rng.integers(1_000, 500_000, n_rows)
    return pd.DataFrame(
        {
            "time": days[index % len(days)],
            "symbol": [f"{100_000 + i // len(days):06d}" for i in index],
            "open": close,
            "high": close + 10,
            "low": close - 10,
            "close": close,
            "volume": rng.integers(0, 10**7, n_rows),
            "trading_value": close * 100,
        }
    )


def upsert_speed(bulk_rows: int, loop_rows: int) -> list[dict]:
    with scratch_database() as url, connect(url) as conn:
        bulk = _price_rows(bulk_rows)
        started = time.perf_counter()
        upsert_frame(conn, "daily_prices", bulk)
        conn.commit()
        bulk_rate = bulk_rows / (time.perf_counter() - started)

        columns = list(bulk.columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in ("symbol", "time"))
        placeholders = ", ".join(["%s"] * len(columns))
        statement = (
            f"INSERT INTO daily_prices ({', '.join(columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT (symbol, time) DO UPDATE SET {updates}"
        )
        records = [
            tuple(int(v) if isinstance(v, np.integer) else v for v in row)
            for row in _price_rows(loop_rows, offset=bulk_rows).itertuples(index=False)
        ]
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            for record in records:
                cursor.execute(statement, record)
        loop_rate = loop_rows / (time.perf_counter() - started)
    return [
        {
            "benchmark": "upsert_frame (COPY + INSERT … ON CONFLICT)",
            "value": round(bulk_rate),
            "unit": "rows/s",
            "ratio": round(bulk_rate / loop_rate, 1),
            "note": f"{bulk_rows:,} daily_prices rows; ratio = speed-up over row by row",
        },
        {
            "benchmark": "row-by-row INSERT … ON CONFLICT",
            "value": round(loop_rate),
            "unit": "rows/s",
            "ratio": None,
            "note": f"{loop_rows:,} rows, one statement each, one transaction",
        },
    ]


def demo_end_to_end(symbols: int, days: int) -> list[dict]:
    with scratch_database() as url, tempfile.TemporaryDirectory(prefix="kis-demo-") as home:
        env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
        env.update(KIS_INTEL_HOME=home, KIS_INTEL_DATABASE_URL=url)
        command = [
            str(Path(sys.executable).with_name("kis-intel")),
            "demo",
            "--symbols",
            str(symbols),
            "--days",
            str(days),
        ]
        started = time.monotonic()
        finished = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
    if finished.returncode != 0:
        raise RuntimeError(
            f"kis-intel demo failed ({finished.returncode}):\n{finished.stdout[-2000:]}"
            f"\n{finished.stderr[-2000:]}"
        )
    return [
        {
            "benchmark": f"kis-intel demo end to end ({symbols} symbols, {days} days)",
            "value": round(elapsed, 1),
            "unit": "s",
            "ratio": None,
            "note": "fresh database and KIS_INTEL_HOME; simulator at the demo's 100/s",
        }
    ]


def run(quick: bool) -> list[dict]:
    rows = daily_collection(150 if quick else 2_500)
    for style in ("known", "tr_cont", "short"):
        rows += backfill_calls(10 if quick else 100, style)
    rows += upsert_speed(20_000 if quick else 200_000, 2_000 if quick else 10_000)
    rows += demo_end_to_end(*((60, 20) if quick else (300, 60)))
    return rows
