"""A long backfill that fails at 90 % is resumed, not restarted: the re-run asks KIS only for the symbols
that were missing, the partition is still written all at once, and the kept answers are gone after it.

The failure is real: the simulator answers HTTP 5xx to every request for the last 10 % of the symbols, so
the client gives up on them after its retries and the asset body fails. The body is called once per run
(`ingest_symbol_dataset`, what the daily asset runs for its partition range): `dg.materialize` would add
the asset's RetryPolicy, a second attempt 30 s later that the cache serves the same way. The figures come
from the simulator's own request log (benchmarks/resume.py prints them on a larger universe).
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets.defs.ingest.assets import DAILY_PRICES, stock_universe
from kis_intel_assets.defs.ingest.collect import ingest_symbol_dataset
from kis_intel_assets.defs.resources import KISResource
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, Simulator
from kis_intel_assets.storage import DatabaseUnavailableError, connect, fetch_frame
from kis_intel_assets.storage.fetch_cache import FetchCache, kept_symbols
from kis_intel_assets_tests.support.simulators import SimulatorFactory, simulator_resources

APP_KEY = "resume-app-key"
RATE = 100.0  # the most a client budget may be (ratelimit.MAX_BUDGET_PER_SEC)
TR_ID = "FHKST03010100"
SYMBOLS = 20
DAYS = trading_days(date(2024, 6, 3), date(2025, 5, 30))  # ~240 trading days: 3 pages per symbol


def run_backfill(resources: dict[str, Any], symbols: list[str]) -> dg.MaterializeResult:
    """One attempt of the single-run backfill of DAYS; raises the asset's Failure."""
    kis: KISResource = resources["kis"]
    with kis.client() as client:
        return ingest_symbol_dataset(
            dg.build_asset_context(),
            client,
            resources["database"],
            DAILY_PRICES,
            symbols,
            DAYS[0],
            DAYS[-1],
            kis.fetch_workers,
        )


def answered(sim: Simulator, since: int) -> Counter[str]:
    """Requests per symbol for the daily-price TR after the first `since` of them."""
    return Counter(r.symbol for r in sim.stats.requests(APP_KEY, TR_ID)[since:])


def stored_rows(database_url: str) -> int:
    with connect(database_url) as conn:
        return int(fetch_frame(conn, "SELECT count(*) AS n FROM daily_prices")["n"][0])


@pytest.mark.faults
def test_a_rerun_after_a_failure_at_90_percent_asks_only_for_the_missing_symbols(
    simulator_factory: SimulatorFactory, database_url: str
) -> None:
    sim = simulator_factory(
        n_symbols=SYMBOLS, start=date(2024, 5, 2), end=date(2025, 6, 30), rate_limit_per_sec=RATE
    )
    resources = simulator_resources(sim, database_url, APP_KEY, rate_limit_per_sec=RATE, fetch_workers=4)
    assert dg.materialize([stock_universe], resources=resources).success
    symbols = sorted(sim.truth.symbols())
    failing = symbols[int(len(symbols) * 0.9) :]
    sim.set_faults(FaultSpec.parse(",".join(f"http5xx@{TR_ID}:{symbol}=1" for symbol in failing)))

    with pytest.raises(dg.Failure, match=f"{len(failing)} of {len(symbols)} symbols failed after retries"):
        run_backfill(resources, symbols)
    first_requests = answered(sim, 0)
    assert stored_rows(database_url) == 0, "a failed partition must write nothing"
    start, end = DAYS[0], DAYS[-1]
    assert kept_symbols(database_url, "daily_prices", start, end) == symbols[: len(symbols) - len(failing)]

    sim.set_faults(None)
    rerun = run_backfill(resources, symbols)
    rerun_requests = answered(sim, first_requests.total())
    pages = first_requests[symbols[0]]  # a symbol that answered: its pages for the window
    assert pages >= 3
    assert set(rerun_requests) == set(failing) and all(n == pages for n in rerun_requests.values())
    print(
        f"\nfirst run (failed at 90 %): {first_requests.total()} requests, re-run: {rerun_requests.total()} "
        f"({rerun_requests.total() / first_requests.total():.1%}); a full re-fetch: {pages * len(symbols)}"
    )

    truth = sim.truth.daily_prices(start, end)
    assert stored_rows(database_url) == len(truth) > 0
    assert rerun.metadata["symbols_from_earlier_run"] == len(symbols) - len(failing)
    assert kept_symbols(database_url, "daily_prices", start, end) == [], "the write must clear the cache"

    # Once the partition is written, a new run of the same days asks KIS again for every symbol.
    before = sim.stats.requests(APP_KEY, TR_ID)
    assert run_backfill(resources, symbols).metadata["symbols_from_earlier_run"] == 0
    assert answered(sim, len(before)).total() == pages * len(symbols)


def test_kept_answers_expire_and_a_rejected_window_is_forgotten(database_url: str) -> None:
    frame = pd.DataFrame({"time": [date(2025, 6, 2)], "symbol": ["005930"], "close": [pd.NA]}).astype(
        {"close": "Int64"}
    )
    start, end = date(2025, 6, 2), date(2025, 6, 2)
    with FetchCache(database_url, "daily_prices", start, end) as cache:
        cache.store("005930", frame)
        kept = cache.load(["005930", "000660"])
        assert list(kept) == ["005930"]
        pd.testing.assert_frame_equal(kept["005930"], frame)  # dtypes, dates and NULLs as parsed
        cache.discard()
        assert cache.load(["005930"]) == {}
    with FetchCache(database_url, "daily_prices", start, end, max_age=timedelta(0)) as cache:
        cache.store("005930", frame)
        assert cache.load(["005930"]) == {}, "an expired answer must be fetched again"
    assert kept_symbols(database_url, "daily_prices", start, end) == []


def test_a_lost_cache_connection_is_replaced_and_an_outage_never_fails_a_fetch(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The soak's database faults: a terminated backend or a restart under a running fetch must not cost
    the answers already paid for (found by benchmarks/soak.py: the step failed on `store`)."""
    frame = pd.DataFrame({"time": [date(2025, 6, 2)], "symbol": ["005930"], "close": [70_000]})
    start, end = date(2025, 6, 2), date(2025, 6, 2)

    def terminate_cache_connections() -> int:
        with connect(database_url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else 0

    with FetchCache(database_url, "daily_prices", start, end) as cache:
        cache.store("005930", frame)
        assert terminate_cache_connections() == 1
        cache.store("000660", frame.assign(symbol="000660"))
        assert terminate_cache_connections() == 1
        assert sorted(cache.load(["005930", "000660"])) == ["000660", "005930"]
        assert terminate_cache_connections() == 1
        cache.discard()
    assert kept_symbols(database_url, "daily_prices", start, end) == []

    with socket.socket() as sock:  # a port nobody listens on: the database is down
        sock.bind(("127.0.0.1", 0))
        down = f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/postgres"
    with FetchCache(down, "daily_prices", start, end) as cache:
        with caplog.at_level(logging.WARNING, logger="kis_intel_assets.storage.fetch_cache"):
            cache.store("005930", frame)  # the run keeps the answer in memory and goes on
        assert "could not keep 005930's daily_prices answer" in caplog.text
        with pytest.raises(DatabaseUnavailableError, match="cannot connect to database"):
            cache.discard()  # forgetting rejected data must not fail silently: a re-run would reuse it
