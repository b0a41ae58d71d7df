"""The rotation page with 45 sectors: labels that do not overlap, a sector filter, the benchmark named,
the price-only view and the scorecard's sample-size rule, in headless Chromium (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import httpx
import pandas as pd
import pytest

from kis_intel_assets import analytics
from kis_intel_assets.pages import serving
from kis_intel_assets.pages.figures import RRG_MAX_LABELS
from kis_intel_assets.storage import connect, upsert_frame
from kis_intel_assets_tests.support.browser import BROWSER_MARKS, open_rendered, screenshot
from kis_intel_assets_tests.support.databases import scratch_database
from kis_intel_assets_tests.support.synthetic_market import synthetic_market


@pytest.fixture
def tab(page: object) -> object:
    """The package's checked `page` (console errors and off-loopback requests fail the test)."""
    return page


N_SECTORS = 45


def in_browser(test: object) -> object:
    """The browser marks: skip without Chromium (the `browser` fixture skips without playwright)."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


def as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(time=pd.to_datetime(frame["time"]).dt.date)


@pytest.fixture(scope="module")
def many_sectors_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """45 sectors through the pure pipeline functions (sector flow → signals → scorecard), stored."""
    market = synthetic_market(n_sectors=N_SECTORS, stocks_per_sector=2, n_days=130, seed=3)
    flow = analytics.sector_money_flow(market.stock_master, market.daily_prices, market.investor_trends)
    signals = analytics.rotation_signals(flow)
    card = analytics.rotation_scorecard(signals, flow)
    with scratch_database(postgres_server_url, "kis_test_rotation", migrated_template) as url:
        with connect(url) as conn:
            upsert_frame(conn, "sector_rotation", as_dates(flow))
            upsert_frame(conn, "rotation_signal", as_dates(signals))
            upsert_frame(conn, "rotation_scorecard", as_dates(card))
            conn.commit()
        yield url


@pytest.fixture(scope="module")
def base_url(many_sectors_url: str) -> Iterator[str]:
    with serving(many_sectors_url) as url:
        yield url


def label_boxes(tab: object) -> list[dict]:
    """Bounding boxes of the non-empty text labels plotly drew in the RRG."""
    return tab.evaluate(
        """() => Array.from(document.querySelectorAll('#rrg g.textpoint text'))
              .filter(t => t.textContent.trim() !== '')
              .map(t => { const b = t.getBoundingClientRect();
                      return {text: t.textContent, x0: b.left, x1: b.right, y0: b.top, y1: b.bottom}; })"""
    )


@in_browser
def test_forty_five_sectors_get_few_non_overlapping_labels_and_every_sector_a_hover(
    tab: object, base_url: str
) -> None:
    open_rendered(tab, f"{base_url}/rotation")
    screenshot(tab, "rotation-45-sectors")

    names = tab.evaluate("() => document.getElementById('rrg').data.map(t => t.name)")
    assert len(names) == N_SECTORS
    hovers = tab.evaluate("() => document.getElementById('rrg').data.map(t => t.hovertemplate)")
    assert all("%{fullData.name}" in h for h in hovers)
    boxes = label_boxes(tab)
    assert 3 <= len(boxes) <= RRG_MAX_LABELS
    for a, b in combinations(boxes, 2):
        apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
        assert apart, (a, b)
    benchmark = tab.locator("#benchmark").inner_text()
    assert "KOSPI" in benchmark and "KOSDAQ" in benchmark and "own market" in benchmark
    axis = tab.evaluate("() => document.getElementById('rrg').layout.xaxis.title.text")
    assert "KOSPI or KOSDAQ" in axis


@in_browser
def test_the_sector_filter_keeps_only_the_chosen_sectors_and_labels_them(tab: object, base_url: str) -> None:
    open_rendered(tab, f"{base_url}/rotation")
    options = tab.locator("#sector-select option")
    assert options.count() == N_SECTORS
    chosen = [options.nth(i).get_attribute("value") for i in (0, 7, 30)]
    tab.select_option("#sector-select", chosen)
    tab.click("#sector-filter button[type=submit]")
    tab.wait_for_selector("body[data-rendered='1']")

    assert f"sector={'%2C'.join(chosen)}" in tab.url
    rows = tab.locator("#signals tr[data-sector]")
    assert sorted(rows.nth(i).get_attribute("data-sector") for i in range(rows.count())) == sorted(chosen)
    assert tab.evaluate("() => document.getElementById('rrg').data.length") == 3
    assert len(label_boxes(tab)) == 3  # few sectors: every one gets its label


@in_browser
def test_price_view_and_the_scorecard_rows(tab: object, base_url: str, many_sectors_url: str) -> None:
    with connect(many_sectors_url) as conn:
        day = conn.execute("SELECT max(time) FROM rotation_signal").fetchone()[0]
        stored = dict(
            conn.execute("SELECT sector_code, price_signal FROM rotation_signal WHERE time = %s", (day,))
        )
        conn.execute("UPDATE rotation_scorecard SET n_signals = 12, judged = false WHERE method = 'signal'")
        conn.commit()
    open_rendered(tab, f"{base_url}/rotation?date={day}&view=price")

    rows = tab.locator("#signals tr[data-sector]")
    shown = {rows.nth(i).get_attribute("data-sector"): rows.nth(i).locator("td.signal").inner_text()
             for i in range(rows.count())}  # fmt: skip
    assert shown == stored
    methods = tab.locator("#scorecard tr[data-method]")
    assert sorted(set(methods.evaluate_all("rows => rows.map(r => r.dataset.method)"))) == [
        "momentum", "placebo", "price_only", "signal",
    ]  # fmt: skip
    too_few = tab.locator("#scorecard tr[data-method='signal'] td.too-few")
    assert too_few.count() == 2 and "too few signals to judge (n < 30" in too_few.first.inner_text()
    assert tab.locator("#scorecard tr[data-method='momentum'] td.too-few").count() == 0
    assert "within each date" in tab.locator("#scorecard-notes").inner_text()


def test_an_unknown_sector_is_a_400_naming_it(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/rotation", params={"sector": "1005,9999"})
    assert answer.status_code == 400
    assert "sector" in answer.text and "9999" in answer.text
