"""Plain HTTP against the pages served by uvicorn on loopback: empty states, 400s, static plotly, tables."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from kis_intel_assets.pages import page_url, run_serve_cli, serving
from kis_intel_assets.storage import connect, fetch_frame

VIEWS = ["/", "/sectors", "/overheat", "/rotation", "/overheat/stock/005930"]


def rows_of(html: str, table_id: str) -> list[str]:
    """data-symbol / data-sector values of a table's rows, in page order."""
    match = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert match, f"table #{table_id} not on the page"
    return re.findall(r'<tr data-(?:symbol|sector)="([^"]+)"', match.group(1))


@pytest.mark.parametrize("fixture", ["database_url", "empty_database_url"])
def test_a_fresh_database_shows_the_empty_state_with_200(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(fixture)
    with serving(url) as base, httpx.Client(base_url=base) as client:
        for path in VIEWS:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert "no data yet" in response.text
            assert "kis-intel demo or a Dagster backfill" in response.text
            if fixture == "empty_database_url":
                assert "kis-intel db migrate" in response.text
        assert client.get("/healthz").json() == {"status": "up"}


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/sectors?date=2025-13-01", "date", "2025-13-01"),
        ("/sectors?date=20250905", "date", "20250905"),
        ("/sectors?date=2025-09-06", "date", "2025-09-06"),  # a Saturday: no stored data
        ("/sectors?investor=pension", "investor", "pension"),
        ("/overheat?market=KONEX", "market", "KONEX"),
        ("/overheat?sort=drop_table", "sort", "drop_table"),
        ("/overheat?order=up", "order", "up"),
        ("/overheat/stock/12345", "symbol", "12345"),
        ("/overheat/stock/999999", "symbol", "999999"),
        ("/rotation?date=2025-04-01", "date", "2025-04-01"),  # stored prices, but no signal yet
    ],
)
def test_a_bad_parameter_gets_a_one_line_400_naming_it(
    pages_base_url: str, path: str, name: str, value: str
) -> None:
    response = httpx.get(pages_base_url + path)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "\n" not in response.text.strip()
    assert f"{name}={value!r}" in response.text


def test_plotly_is_served_locally_with_caching_headers(pages_base_url: str) -> None:
    response = httpx.get(pages_base_url + "/static/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert "plotly" in response.text[:2000].lower() and len(response.content) > 1_000_000
    again = httpx.get(
        pages_base_url + "/static/plotly.min.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    page = httpx.get(pages_base_url + "/sectors").text
    assert re.findall(r'<script src="([^"]+)"', page) == [f"/static/plotly.min.js?v={_plotly_version()}"]


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


def test_the_overheat_table_sorts_and_filters_server_side(
    pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    with connect(pages_database_url) as conn:
        stored = fetch_frame(
            conn, "SELECT symbol, market, short_ratio FROM short_overheat WHERE time = %s", (designation_day,)
        )
    assert set(stored["market"]) == {"KOSPI", "KOSDAQ"}
    base = f"{pages_base_url}/overheat?date={designation_day}"

    by_ratio = rows_of(httpx.get(base + "&sort=short_ratio&order=asc").text, "designations")
    assert by_ratio == list(stored.sort_values(["short_ratio", "symbol"])["symbol"])
    by_symbol = rows_of(httpx.get(base + "&sort=symbol&order=desc").text, "designations")
    assert by_symbol == sorted(stored["symbol"], reverse=True)
    for market in ("KOSPI", "kosdaq"):
        listed = rows_of(httpx.get(f"{base}&market={market}").text, "designations")
        assert listed == list(stored.loc[stored["market"] == market.upper(), "symbol"])


def test_the_near_designation_list_ranks_undesignated_stocks_by_closeness(
    pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    html = httpx.get(f"{pages_base_url}/overheat?date={designation_day}").text
    near = rows_of(html, "near")
    closeness_values = [
        float(v) for v in re.findall(r'<td class="num">([0-9.]+)%</td>\s*<td class="num">[+-]', html)
    ]
    with connect(pages_database_url) as conn:
        designated = set(
            fetch_frame(conn, "SELECT symbol FROM short_overheat WHERE time = %s", (designation_day,))[
                "symbol"
            ]
        )
    assert near and not designated & set(near)
    assert len(closeness_values) == len(near)
    assert closeness_values == sorted(closeness_values, reverse=True)


def test_the_near_designation_list_is_read_from_overheat_candidates(
    pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    """The page computes nothing: its rows and thresholds are the materialized table's."""
    html = httpx.get(f"{pages_base_url}/overheat?date={designation_day}&market=KOSDAQ").text
    with connect(pages_database_url) as conn:
        stored = fetch_frame(
            conn,
            """SELECT c.symbol, c.threshold_source FROM overheat_candidates c
                WHERE c.time = %s AND c.market = 'KOSDAQ' AND NOT EXISTS (
                      SELECT 1 FROM short_overheat o WHERE o.symbol = c.symbol AND o.time = c.time)
                ORDER BY c.closeness_pct DESC, c.short_value_multiple DESC, c.symbol LIMIT 20""",
            (designation_day,),
        )
    assert rows_of(html, "near") == list(stored["symbol"])
    assert f"({stored['threshold_source'].iloc[0]})" in html


def test_the_stock_chart_page_lists_its_designations(
    pages_base_url: str, pages_database_url: str, designation_day: date
) -> None:
    with connect(pages_database_url) as conn:
        symbol = conn.execute(
            "SELECT min(symbol) FROM short_overheat WHERE time = %s", (designation_day,)
        ).fetchone()[0]
    html = httpx.get(f"{pages_base_url}/overheat/stock/{symbol}?date={designation_day}").text
    assert f"<td>{designation_day}</td>" in html and 'data-figure="stock"' in html


def test_an_unreachable_database_is_a_503_without_the_password() -> None:
    with (
        serving("postgresql://reader:s3cret-pw@127.0.0.1:1/kis") as base,
        httpx.Client(base_url=base) as client,
    ):
        for path in ("/healthz", "/sectors"):
            response = client.get(path)
            assert response.status_code == 503
            assert "reader" not in response.text and "127.0.0.1" not in response.text
            assert response.text in ('{"status":"down"}', "database unavailable; try again shortly")


def test_page_url_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIS_INTEL_PAGES_URL", raising=False)
    assert page_url("sectors", date(2025, 9, 5)) == "http://127.0.0.1:8050/sectors?date=2025-09-05"
    monkeypatch.setenv("KIS_INTEL_PAGES_URL", "https://intel.example.com/kis/")
    assert page_url("rotation", date(2025, 1, 2)) == "https://intel.example.com/kis/rotation?date=2025-01-02"
    with pytest.raises(ValueError, match="view must be one of"):
        page_url("alerts", date(2025, 1, 2))


def test_serve_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_serve_cli(["--port", "http"])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err
    assert run_serve_cli(["--database-url", "mysql://root:pw@localhost/x"]) == 2
    assert "postgresql://" in capsys.readouterr().err
