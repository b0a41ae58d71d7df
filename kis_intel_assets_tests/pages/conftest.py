"""A package-wide database filled once (ingestion via Dagster against the simulator, then analytics) and
the pages served from it by uvicorn on loopback; every test in this package only reads it. The browser
tests' Chromium, context and checked page are fixtures here too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import urlsplit

import pytest

from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.pages import serving
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.pages.filling import ingest, run_analytics
from kis_intel_assets_tests.support.browser import CHROMIUM, LAUNCH_ARGS
from kis_intel_assets_tests.support.databases import scratch_database

# Sector flow needs 59 earlier days and rotation 74 more, so ingestion starts in October 2024; short selling
# resumed on 2025-03-31 and designations need 40 baseline days after it, which the window also covers.
FIRST_DAY, LAST_DAY = date(2024, 10, 1), date(2025, 8, 14)
SIMULATOR = SimulatorConfig(
    seed=7, n_symbols=30, start=date(2024, 6, 3), end=LAST_DAY, rate_limit_per_sec=400.0
)


def designation_day_with_two_markets(database_url: str) -> date:
    """The newest day with an analytics designation, given a second one from the other market.

    The 30-stock universe yields about one designation per month, never two on a day, so sorting and
    filtering would have nothing to reorder. A planted row (test data, not a rule outcome) takes the
    first stock of the other market that day with its real price change and short ratio, type ② or ③
    and an 8× multiple of its real 40-day average. Without any analytics designation (other seeds) a
    row of that shape is planted on the last day as well.
    """
    with connect(database_url) as conn:
        day = conn.execute("SELECT max(time) FROM short_overheat").fetchone()[0] or LAST_DAY
        markets = {r[0] for r in conn.execute("SELECT market FROM short_overheat WHERE time = %s", (day,))}
        for market in {"KOSPI", "KOSDAQ"} - markets:
            if len(markets) == 2:
                break
            inserted = conn.execute(PLANT_DESIGNATION, {"day": day, "market": market}).rowcount
            assert inserted == 1, f"no {market} stock to plant a designation for on {day}"
            markets.add(market)
        conn.commit()
    return day


PLANT_DESIGNATION = """
    INSERT INTO short_overheat
    SELECT p.time, p.symbol, m.market, CASE WHEN m.market = 'KOSDAQ' THEN 3 ELSE 2 END,
           round(100.0 * (p.close::numeric / prev.close - 1), 2), s.short_value_ratio, 8.0,
           greatest(s.short_amount / 8.0, 1), 6.0, 40, NULL, NULL, NULL, 0
      FROM daily_prices p
      JOIN short_selling s USING (symbol, time)
      JOIN LATERAL (SELECT market FROM stock_master sm WHERE sm.symbol = p.symbol AND sm.valid_from <= p.time
                     ORDER BY sm.valid_from DESC LIMIT 1) m ON TRUE
      JOIN LATERAL (SELECT close FROM daily_prices q WHERE q.symbol = p.symbol AND q.time < p.time
                     ORDER BY q.time DESC LIMIT 1) prev ON TRUE
     WHERE p.time = %(day)s AND m.market = %(market)s
     ORDER BY p.symbol LIMIT 1"""


@pytest.fixture(scope="package")
def pages_database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "kis_test_pages", migrated_template) as url:
        with running_simulator(SIMULATOR) as sim:
            ingest(sim, url, trading_days(FIRST_DAY, LAST_DAY)[0], LAST_DAY)
        run_analytics(url, FIRST_DAY, LAST_DAY)
        yield url


@pytest.fixture(scope="package")
def designation_day(pages_database_url: str) -> date:
    return designation_day_with_two_markets(pages_database_url)


@pytest.fixture(scope="package")
def pages_base_url(pages_database_url: str) -> Iterator[str]:
    with serving(pages_database_url) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per module (skips the test where playwright is not installed)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser: object) -> Iterator[object]:
    """One context for the module, so plotly.js (served cacheable) is fetched once."""
    shared = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield shared
    shared.close()


@pytest.fixture
def page(context: object) -> Iterator[object]:
    """A page that records console errors, page errors and every requested host; asserts on them after."""
    tab = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
    yield tab
    tab.close()
    assert errors == []
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
