"""Strict query parameters (an unknown or repeated name, a trailing newline, a non-calendar date form is a
400 naming it; before, `?dte=`, `005930\\n` and `2025-W23-1` were served) and the page cache (a page is
rendered once per data version and re-rendered after a write to a table the pages read)."""

from __future__ import annotations

import time
from datetime import date

import httpx
import pytest

from kis_intel_assets.pages import serving
from kis_intel_assets.pages.cache import DEFAULT_VERSION_TTL_SECONDS
from kis_intel_assets.storage import connect


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/sectors?dte=2025-06-02", "dte", "2025-06-02"),  # a misspelt name
        ("/?date=2025-06-02", "date", "2025-06-02"),  # the landing page takes none
        ("/rotation?investor=foreign", "investor", "foreign"),  # a real name, on the wrong page
        ("/sectors?date=2025-08-14&date=2025-08-13", "date", "2025-08-13"),  # given twice
        ("/overheat/stock/005930%0A", "symbol", "005930\n"),  # a trailing newline
        ("/overheat/stock/005930%20", "symbol", "005930 "),
        ("/sectors?date=2025-08-14%0A", "date", "2025-08-14\n"),
        ("/sectors?date=2025-W33-4", "date", "2025-W33-4"),  # ISO week date of 2025-08-14
        ("/sectors?date=2025-226", "date", "2025-226"),  # ordinal date
        ("/sectors?investor=foreign%20", "investor", "foreign "),
    ],
)
def test_a_malformed_query_is_a_400_naming_it(pages_base_url: str, path: str, name: str, value: str) -> None:
    response = httpx.get(pages_base_url + path)
    assert response.status_code == 400, response.text[:200]
    assert "\n" not in response.text.strip()
    assert f"{name}={value!r}" in response.text


def add_day(database_url: str, day: date, close: int, *, notify: bool = True) -> None:
    """One daily_prices row; with notify=False the write bypasses the triggers that version the data."""
    with connect(database_url) as conn:
        if not notify:
            conn.execute("SET session_replication_role = replica")  # triggers off for this session
        conn.execute(
            """INSERT INTO daily_prices (time, symbol, open, high, low, close, volume, trading_value)
               VALUES (%s, '005930', %s, %s, %s, %s, 1000, %s)""",
            (day, close, close, close, close, close * 1000),
        )
        conn.commit()


def test_a_page_is_rendered_once_per_data_version(database_url: str) -> None:
    add_day(database_url, date(2025, 6, 2), 70_000)
    with serving(database_url) as base, httpx.Client(base_url=base) as client:
        assert "2025-06-02" in client.get("/").text
        # Unversioned write (triggers off): the cached page is what comes back, so it was not rebuilt.
        add_day(database_url, date(2025, 6, 3), 70_100, notify=False)
        time.sleep(DEFAULT_VERSION_TTL_SECONDS + 0.2)
        assert "2025-06-03" not in client.get("/").text
        # A normal write moves the data version: within the version's lifetime the page shows it.
        add_day(database_url, date(2025, 6, 4), 70_200)
        time.sleep(DEFAULT_VERSION_TTL_SECONDS + 0.2)
        landing = client.get("/").text
        assert "2025-06-04" in landing
