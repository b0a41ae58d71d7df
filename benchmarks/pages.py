"""Server-side response time of every page with one year × the full universe (2,500 symbols) stored.

The data is synthetic (benchmarks.analytics.synthetic_history: listings, sector moves, flows, shorts),
bulk-upserted into a scratch database, and the analytics tables are filled by the pure functions, as the
analytics assets would. The pages run on uvicorn on loopback without the page cache (so this is what a
rendering costs); each page is requested once to warm up and then REPEAT times, and the median wall
time per request is reported (server work + loopback HTTP).

Then 60 concurrent users (asyncio clients, each requesting the day views in turn) against `kis-intel
serve` in its own process, once with the page cache and once with `--no-cache`, side by side: p50 and
p99 over every request, ratio p99 / the 1 s target.

Rows: {"benchmark", "value", "unit", "ratio", "note"}; `ratio` is value / the 500 ms target per page.
Run: `.venv/bin/python -m benchmarks --only pages [--quick]` (quick: 400 symbols × 120 days). The database
server is KIS_INTEL_TEST_DATABASE_URL / KIS_INTEL_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from benchmarks.analytics import History, synthetic_history
from kis_intel_assets.analytics import (
    overheat_candidates,
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
USERS = 60
CONCURRENT_TARGET_MS = 1000.0
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def analytics_tables(
    stock_master: pd.DataFrame, prices: pd.DataFrame, flows: pd.DataFrame, short_daily: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The analytics outputs the pages read, keyed by table."""
    flow = sector_money_flow(stock_master, prices, flows)
    signals = rotation_signals(flow)
    return {
        "sector_rotation": flow,
        "rotation_signal": signals,
        "rotation_transition": rotation_transitions(signals),
        "rotation_scorecard": rotation_scorecard(signals, flow),
        "short_overheat": short_overheat(short_daily),
        "overheat_candidates": overheat_candidates(short_daily),
    }


def write_tables(database_url: str, tables: dict[str, pd.DataFrame]) -> None:
    with connect(database_url) as conn:
        for table, frame in tables.items():
            upsert_frame(conn, table, frame)


@contextmanager
def scratch_database() -> Iterator[str]:
    server = os.environ.get("KIS_INTEL_TEST_DATABASE_URL") or os.environ.get("KIS_INTEL_DATABASE_URL")
    server = server or DEFAULT_SERVER
    name = f"kis_bench_pages_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))  # a URL: `kis-intel serve` takes one
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
    short_volume = np.round(shorts["short_amount"].to_numpy(float) / close).astype(np.int64)
    volume = history.daily_prices["volume"].to_numpy()
    short_selling = pd.DataFrame(
        {
            "time": shorts["time"],
            "symbol": shorts["symbol"],
            "short_volume": np.minimum(short_volume, volume),
            "short_amount": shorts["short_amount"],
            "short_ratio": np.round(100.0 * np.minimum(short_volume, volume) / np.maximum(volume, 1), 2),
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
            upsert_frame(conn, table, frame)
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


def day_views(paths: dict[str, str]) -> list[str]:
    return [path for label, path in paths.items() if label != "landing /" and "400" not in label]


@contextmanager
def serve_process(database_url: str, *, cache: bool) -> Iterator[str]:
    """`kis-intel serve` in a process of its own (the load generator must not share its interpreter)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    argv = [sys.executable, "-m", "kis_intel_assets.cli", "serve", "--port", str(port),
            "--database-url", database_url, *([] if cache else ["--no-cache"])]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kis-intel serve did not start: {process.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One keep-alive HTTP/1.1 GET; returns the status. A bare client: httpx's parsing would cost more
    CPU than the cached server does, on the same two cores."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    lines = head.lower().split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.startswith("content-length:"))
    await reader.readexactly(length)
    return status


async def _users(base_url: str, paths: list[str], users: int, rounds: int) -> list[float]:
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []

    async def user(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port), limit=2**22)
        try:
            for step in range(rounds * len(paths)):
                path = paths[(index + step) % len(paths)]
                started = time.perf_counter()
                status = await _get(reader, writer, path)
                latencies.append(time.perf_counter() - started)
                assert status == 200, path
        finally:
            writer.close()

    await asyncio.gather(*(user(i) for i in range(users)))
    return latencies


def concurrent_users(database_url: str, paths: list[str], *, cache: bool, rounds: int) -> dict:
    with serve_process(database_url, cache=cache) as base_url:
        for path in paths:  # warm-up: the cache's first rendering, the uncached path's first imports
            assert httpx.get(base_url + path, timeout=120).status_code == 200, path
        started = time.perf_counter()
        latencies = asyncio.run(_users(base_url, paths, USERS, rounds))
        elapsed = time.perf_counter() - started
    ms = sorted(1000.0 * x for x in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    label = "page cache" if cache else "no cache (--no-cache)"
    return {
        "benchmark": f"pages: {USERS} concurrent users, day views, {label}",
        "value": p99,
        "unit": "ms p99",
        "ratio": p99 / CONCURRENT_TARGET_MS,
        "note": f"p50 {statistics.median(ms):,.0f} ms, {len(ms)} requests in {elapsed:.1f} s "
        f"({len(ms) / elapsed:.0f}/s); load {os.getloadavg()[0]:.1f}",
    }


def run(quick: bool) -> list[dict]:
    n_symbols, n_days = (400, 120) if quick else (2_500, 250)
    history = synthetic_history(n_symbols, n_days, seed=3)
    rows: list[dict] = []
    with scratch_database() as url:
        fill_s = fill(url, history)
        scale = f"{n_days} days × {n_symbols} symbols ({len(history.daily_prices):,} stock-days)"
        rows.append({"benchmark": "fill: core tables + analytics tables", "value": fill_s, "unit": "s",
                     "ratio": None, "note": scale})  # fmt: skip
        paths = page_paths(url)
        with serving(url, cache=False) as base_url:  # the rendering itself: what a cache miss costs
            for label, ms, size in timed_pages(base_url, paths):
                rows.append(
                    {"benchmark": f"page: {label}", "value": ms, "unit": "ms", "ratio": ms / TARGET_MS,
                     "note": f"median of {REPEAT}; {size / 1024:,.0f} KiB; load {os.getloadavg()[0]:.1f}"}
                )  # fmt: skip
        # Rounds through the day views per user: the cached path long enough to span several version
        # reads (one a second), the uncached one as long as it takes.
        for cache, rounds in ((True, 10 if quick else 30), (False, 1 if quick else 2)):
            rows.append(concurrent_users(url, day_views(paths), cache=cache, rounds=rounds))
    return rows
