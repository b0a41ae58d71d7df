"""Server-side response time of every page with one year × the full universe (2,500 symbols) stored.

The data is synthetic (benchmarks.analytics.synthetic_history: listings, sector moves, flows, shorts),
bulk-upserted into a scratch database, and the analytics tables are filled by the pure functions, as the
analytics assets would. The pages run on uvicorn on loopback; each page is requested once to warm up and
then REPEAT times, and the median wall time per request is reported (server work + loopback HTTP).

Rows: {"benchmark", "value", "unit", "ratio", "note"}; `ratio` is value / the 500 ms target per page.
Run: `.venv/bin/python -m benchmarks --only pages [--quick]` (quick: 400 symbols × 120 days). The database
server is KIS_INTEL_TEST_DATABASE_URL / KIS_INTEL_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from benchmarks.analytics import History, synthetic_history
from kis_intel_assets.analytics import (
    rotation_scorecard,
    rotation_signals,
    rotation_transitions,
    sector_money_flow,
    short_overheat,
)
from kis_intel_assets.pages import serving
from kis_intel_assets.storage import connect, migrate, upsert_frame

TARGET_MS = 500.0
REPEAT = 5
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


TABLE_KEYS = {
    "sector_rotation": ["sector_code", "time"],
    "rotation_signal": ["sector_code", "time"],
    "rotation_transition": ["sector_code", "kind", "time"],
    "rotation_scorecard": ["method", "horizon", "time"],
    "short_overheat": ["symbol", "time"],
}


def analytics_tables(
    stock_master: pd.DataFrame, prices: pd.DataFrame, flows: pd.DataFrame, short_daily: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The analytics outputs the pages read, keyed by table (see TABLE_KEYS)."""
    flow = sector_money_flow(stock_master, prices, flows)
    signals = rotation_signals(flow)
    return {
        "sector_rotation": flow,
        "rotation_signal": signals,
        "rotation_transition": rotation_transitions(signals),
        "rotation_scorecard": rotation_scorecard(signals, flow),
        "short_overheat": short_overheat(short_daily),
    }


def write_tables(database_url: str, tables: dict[str, pd.DataFrame]) -> None:
    with connect(database_url) as conn:
        for table, frame in tables.items():
            upsert_frame(conn, table, frame, TABLE_KEYS[table])


@contextmanager
def scratch_database() -> Iterator[str]:
    server = os.environ.get("KIS_INTEL_TEST_DATABASE_URL") or os.environ.get("KIS_INTEL_DATABASE_URL")
    server = server or DEFAULT_SERVER
    name = f"kis_bench_pages_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def table_frames(history: History) -> dict[str, pd.DataFrame]:
    """The synthetic history in the shape of the core tables (sql/001_core_tables.sql)."""
    master = history.stock_master.drop_duplicates(["symbol", "valid_from"], keep="last")
    master = master.assign(
        name="종목" + master["symbol"].str[-4:],
        sector_name="업종" + master["sector_code"],
        last_seen=master["valid_from"].max(),
    )
    shorts = history.short_daily
    close = shorts["close"].to_numpy(float)
    short_volume = np.round(shorts["short_value"].to_numpy(float) / close).astype(np.int64)
    volume = history.daily_prices["volume"].to_numpy()
    short_selling = pd.DataFrame(
        {
            "time": shorts["time"],
            "symbol": shorts["symbol"],
            "short_volume": np.minimum(short_volume, volume),
            "short_value": shorts["short_value"],
            "short_volume_ratio": np.round(
                100.0 * np.minimum(short_volume, volume) / np.maximum(volume, 1), 2
            ),
            "short_value_ratio": shorts["short_ratio"].clip(upper=100.0),
            "total_volume": volume,
            "total_value": shorts["trading_value"],
        }
    )
    return {
        "stock_master": master,
        "daily_prices": history.daily_prices,
        "investor_trends": history.investor_trends,
        "short_selling": short_selling,
    }


def fill(url: str, history: History) -> float:
    started = time.perf_counter()
    migrate(url)
    with connect(url) as conn:
        for table, frame in table_frames(history).items():
            keys = ["symbol", "valid_from"] if table == "stock_master" else ["symbol", "time"]
            upsert_frame(conn, table, frame, keys)
    write_tables(url, analytics_tables(history.stock_master, history.daily_prices, history.investor_trends,
                                       history.short_daily))  # fmt: skip
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def page_paths(url: str) -> dict[str, str]:
    with connect(url) as conn:
        day = conn.execute("SELECT max(time) FROM daily_prices").fetchone()[0]
        symbol = conn.execute("SELECT min(symbol) FROM daily_prices WHERE time = %s", (day,)).fetchone()[0]
        signal_day = conn.execute("SELECT max(time) FROM rotation_signal").fetchone()[0]
    return {
        "landing /": "/",
        "sector map (foreign)": f"/sectors?date={day}&investor=foreign",
        "sector map (foreign + institution)": f"/sectors?date={day}&investor=total",
        "overheat dashboard (all markets)": f"/overheat?date={day}",
        "overheat dashboard (KOSDAQ, sorted by ratio)": f"/overheat?date={day}&market=KOSDAQ"
        "&sort=short_ratio&order=asc",
        "overheat stock chart (±30 days)": f"/overheat/stock/{symbol}?date={day}",
        "rotation (RRG + signals + scorecard)": f"/rotation?date={signal_day}",
        "bad parameter (400)": "/sectors?date=2015-13-01",
    }


def timed_pages(base_url: str, paths: dict[str, str]) -> list[tuple[str, float, int]]:
    results = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for label, path in paths.items():
            expected = 400 if "400" in label else 200
            assert client.get(path).status_code == expected, path
            samples = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                response = client.get(path)
                samples.append(time.perf_counter() - started)
            assert response.status_code == expected, path
            results.append((label, 1000.0 * statistics.median(samples), len(response.content)))
    return results


def run(quick: bool) -> list[dict]:
    n_symbols, n_days = (400, 120) if quick else (2_500, 250)
    history = synthetic_history(n_symbols, n_days, seed=3)
    rows: list[dict] = []
    with scratch_database() as url:
        fill_s = fill(url, history)
        scale = f"{n_days} days × {n_symbols} symbols ({len(history.daily_prices):,} stock-days)"
        rows.append({"benchmark": "fill: core tables + analytics tables", "value": fill_s, "unit": "s",
                     "ratio": None, "note": scale})  # fmt: skip
        with serving(url) as base_url:
            for label, ms, size in timed_pages(base_url, page_paths(url)):
                rows.append(
                    {"benchmark": f"page: {label}", "value": ms, "unit": "ms", "ratio": ms / TARGET_MS,
                     "note": f"median of {REPEAT}; {size / 1024:,.0f} KiB; load {os.getloadavg()[0]:.1f}"}
                )  # fmt: skip
    return rows
