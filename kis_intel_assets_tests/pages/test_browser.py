"""End to end in headless Chromium (Playwright): the numbers drawn are the numbers in the database.

Skips when /usr/bin/chromium or playwright is missing (a fresh machine); CI installs both. One browser per
module; every page is checked for console errors, page errors and requests that leave loopback, and
screenshots go to test-artifacts/pages/.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.browser import BROWSER_MARKS, open_rendered, screenshot

FLOW = {"foreign": "foreign", "institution": "institution", "individual": "individual"}

pytestmark = BROWSER_MARKS


def trace(page: object, div: str) -> dict:
    return page.evaluate(
        f"""() => {{ const t = document.getElementById('{div}').data[0];
              return {{ids: t.ids, values: t.values, colors: t.marker.colors,
                       customdata: t.customdata}}; }}"""
    )


def expected_sector_map(database_url: str, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stock caps and intensities per group, and per-sector caps/flows, straight from the tables."""
    with connect(database_url) as conn:
        stocks = fetch_frame(
            conn,
            """SELECT p.symbol, m.sector_code, p.close::float8 * m.listed_shares AS cap,
                      t.foreign_net_value::float8 AS foreign, t.institution_net_value::float8 AS institution,
                      t.retail_net_value::float8 AS individual
                 FROM daily_prices p
                 JOIN investor_trends t USING (symbol, time)
                 CROSS JOIN LATERAL (SELECT sector_code, listed_shares FROM stock_master sm
                                      WHERE sm.symbol = p.symbol AND sm.valid_from <= p.time
                                      ORDER BY sm.valid_from DESC LIMIT 1) m
                WHERE p.time = %s""",
            (day,),
        )
        sectors = fetch_frame(conn, "SELECT * FROM sector_rotation WHERE time = %s", (day,))
    return stocks.set_index("symbol"), sectors.set_index("sector_code")


def test_sector_treemap_shows_every_sector_with_its_numbers_and_recolours_per_investor(
    page: object, pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    day = designation_day
    stocks, sectors = expected_sector_map(pages_database_url, day)
    open_rendered(page, f"{pages_base_url}/sectors?date={day}&investor=foreign")
    screenshot(page, "sectors_foreign")

    drawn = trace(page, "treemap")
    index = {node: i for i, node in enumerate(drawn["ids"])}
    sector_ids = sorted(node.removeprefix("sector:") for node in drawn["ids"] if node.startswith("sector:"))
    assert sector_ids == sorted(sectors.index) == sorted(stocks["sector_code"].unique())
    caps = stocks.groupby("sector_code")["cap"].sum()
    for code in sectors.index:
        assert drawn["values"][index[f"sector:{code}"]] == pytest.approx(caps[code], rel=1e-12)
        assert caps[code] == pytest.approx(sectors.loc[code, "market_cap"], rel=1e-12)
    for symbol, row in stocks.iterrows():
        assert drawn["values"][index[f"stock:{symbol}"]] == pytest.approx(row["cap"], rel=1e-12)
        assert drawn["customdata"][index[f"stock:{symbol}"]][0] == pytest.approx(row["foreign"])
    labels = page.locator("g.slice text").all_text_contents()
    for name in sectors["sector_name"]:
        assert any(name in label for label in labels), name

    before = np.array(drawn["colors"], dtype=float)
    page.click("a[data-investor='institution']")
    page.wait_for_url("**investor=institution**")
    page.wait_for_selector("body[data-rendered='1']")
    screenshot(page, "sectors_institution")
    after = trace(page, "treemap")
    colors = np.array(after["colors"], dtype=float)
    assert not np.allclose(before, colors)
    for code, row in sectors.iterrows():
        expected = row["institution_flow"] / row["market_cap"] * 1e4
        assert colors[index[f"sector:{code}"]] == pytest.approx(expected, rel=1e-9)
    for symbol, row in stocks.iterrows():
        assert colors[index[f"stock:{symbol}"]] == pytest.approx(
            row["institution"] / row["cap"] * 1e4, rel=1e-9
        )


def test_overheat_lists_the_days_designations_sorts_filters_and_charts_a_stock(
    page: object, pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    with connect(pages_database_url) as conn:
        stored = fetch_frame(
            conn,
            "SELECT symbol, market, short_value_multiple FROM short_overheat WHERE time = %s",
            (designation_day,),
        )
    page.goto(f"{pages_base_url}/overheat?date={designation_day}")
    rows = page.locator("#designations tr[data-symbol]")
    listed = [rows.nth(i).get_attribute("data-symbol") for i in range(rows.count())]
    assert listed == list(stored.sort_values("short_value_multiple", ascending=False)["symbol"])
    assert page.locator("#near tr[data-symbol]").count() > 0
    screenshot(page, "overheat")

    page.click("#designations a[data-sort='symbol']")  # first click: descending
    page.wait_for_url("**sort=symbol**")
    listed = [rows.nth(i).get_attribute("data-symbol") for i in range(rows.count())]
    assert listed == sorted(stored["symbol"], reverse=True)
    page.click("#designations a[data-sort='symbol']")  # second click flips to ascending
    page.wait_for_url("**order=asc**")
    assert [rows.nth(i).get_attribute("data-symbol") for i in range(rows.count())] == sorted(stored["symbol"])

    page.click("#market-filter a[data-market='KOSDAQ']")
    page.wait_for_url("**market=KOSDAQ**")
    kosdaq = stored.loc[stored["market"] == "KOSDAQ", "symbol"]
    assert sorted(rows.nth(i).get_attribute("data-symbol") for i in range(rows.count())) == sorted(kosdaq)

    symbol = kosdaq.iloc[0]
    page.click(f"#designations a[href^='/overheat/stock/{symbol}']")
    page.wait_for_selector("body[data-rendered='1']")
    drawn = page.evaluate("() => document.getElementById('stock').data.map(t => t.name)")
    assert any("short ratio" in name for name in drawn) and any("designated" in name for name in drawn)
    screenshot(page, "overheat_stock")


def test_rotation_graph_shows_every_sector_and_the_scorecard(
    page: object, pages_base_url: str, pages_database_url: str
) -> None:
    with connect(pages_database_url) as conn:
        day = conn.execute("SELECT max(time) FROM rotation_signal").fetchone()[0]
        signals = fetch_frame(
            conn,
            """SELECT r.sector_code, f.sector_name || ' (' || f.market || ')' AS label, r.signal
                 FROM rotation_signal r
                 JOIN sector_rotation f USING (sector_code, time) WHERE r.time = %s""",
            (day,),
        )
        methods = fetch_frame(conn, "SELECT DISTINCT method FROM rotation_scorecard")["method"]
    open_rendered(page, f"{pages_base_url}/rotation?date={day}")
    screenshot(page, "rotation")

    names = page.evaluate("() => document.getElementById('rrg').data.map(t => t.name)")
    assert sorted(names) == sorted(signals["label"])
    annotations = page.evaluate("() => document.getElementById('rrg').layout.annotations.map(a => a.text)")
    assert sorted(annotations) == sorted(
        f"<b>{q}</b>" for q in ("Leading", "Weakening", "Lagging", "Improving")
    )
    rows = page.locator("#signals tr[data-sector]")
    shown = {rows.nth(i).get_attribute("data-sector"): rows.nth(i).locator("td.signal").inner_text()
             for i in range(rows.count())}  # fmt: skip
    assert shown == dict(zip(signals["sector_code"], signals["signal"], strict=True))
    assert {cell.strip() for cell in page.locator("#scorecard td:first-child").all_inner_texts()} == set(
        methods
    )
