"""The simulator's wire behaviour as live KIS shows it (docs/kis_protocol.md §7, §11, §14), seen with plain
HTTP: page sizes and paging styles, header casing, `//uapi` paths, chart periods, "00000101", and the NX/UN
market scopes."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from datetime import date

import httpx
import pytest
import requests

from kis_intel_assets import krx_calendar
from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.simulator.kis_http import KisHttp

Factory = Callable[..., Simulator]
ALL_DAYS = [d.strftime("%Y%m%d") for d in krx_calendar.trading_days(date(2024, 1, 2), date(2025, 6, 30))][
    ::-1
]


def _investor(symbol: str, anchor: str = "20250630") -> dict[str, str]:
    return {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": anchor,
        "FID_ORG_ADJ_PRC": "",
        "FID_ETC_CLS_CODE": "",
    }


def _short(symbol: str) -> dict[str, str]:
    return {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": "20240101",
        "FID_INPUT_DATE_2": "20250630",
    }


def _dates(body: dict, key: str) -> list[str]:
    return [row["stck_bsop_date"] for row in body[key]]


def test_known_page_sizes(simulator: Simulator, kis: KisHttp) -> None:
    """30 sessions back from the FHPTJ04160001 / FHPPG04650201 anchor in one page; 100 chart rows; the
    TRs without facts page with tr_cont at page_size."""
    symbol = simulator.truth.symbols()[3]
    body, tr_cont = kis.ok("FHPTJ04160001", _investor(symbol, "20250515"))
    assert tr_cont == "D" and _dates(body, "output2") == [d for d in ALL_DAYS if d <= "20250515"][:30]
    body, tr_cont = kis.ok(
        "FHPPG04650201",
        {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": "20250630"},
    )
    assert tr_cont == "D" and _dates(body, "output") == ALL_DAYS[:30]
    body, tr_cont = kis.ok("FHKST01010900", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol})
    assert tr_cont == "D" and len(body["output"]) == 30
    body, tr_cont = kis.ok("FHPST04830000", _short(symbol))
    assert tr_cont == "M" and _dates(body, "output2") == ALL_DAYS[:100]
    assert [
        row["stck_bsop_date"] for row in kis.all_pages("FHPST04830000", _short(symbol), "output2")
    ] == ALL_DAYS


@pytest.mark.parametrize("style", ["tr_cont", "short", "repeat"])
def test_paging_styles(simulator_factory: Factory, style: str) -> None:
    sim = simulator_factory(n_symbols=6, paging_style=style, page_sizes={"FHPTJ04160001": 40})
    kis = KisHttp(sim, app_key=f"paging-{style}").login()
    symbol = sim.truth.symbols()[1]
    first, tr_cont = kis.ok("FHPTJ04160001", _investor(symbol))
    assert _dates(first, "output2") == ALL_DAYS[:40]
    assert tr_cont == {"tr_cont": "M", "short": "D", "repeat": "M"}[style]
    if style == "tr_cont":
        rows = kis.all_pages("FHPTJ04160001", _investor(symbol), "output2")
        assert [row["stck_bsop_date"] for row in rows] == ALL_DAYS
        served = sim.stats.requests(kis.app_key, "FHPTJ04160001")
        assert [r.tr_cont for r in served][-3:] == ["M", "M", "D"] and all(r.rows <= 40 for r in served)
    if style == "repeat":
        again, tr_cont = kis.ok("FHPTJ04160001", _investor(symbol), tr_cont="N")
        assert tr_cont == "M" and again["output2"] == first["output2"]


def test_headers_in_kis_casing_for_the_official_namedtuple(simulator: Simulator, kis: KisHttp) -> None:
    """The official samples keep the lower-case header names and build a namedtuple of them."""
    symbol = simulator.truth.symbols()[0]
    response = requests.get(
        simulator.base_url + "//uapi/domestic-stock/v1/quotations/inquire-price",
        params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        headers=kis.headers("FHKST01010100"),
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["rt_cd"] == "0"
    names = list(response.headers.keys())
    assert {"Content-Type", "Content-Length", "Date", "tr_id", "tr_cont", "gt_uid"} <= set(names)
    lower = [name for name in names if name.islower()]
    assert sorted(lower) == ["gt_uid", "tr_cont", "tr_id"]
    header = namedtuple("header", lower)(**{name: response.headers[name] for name in lower})
    assert header.tr_id == "FHKST01010100" and header.tr_cont == "D"


def test_chart_periods_and_from_the_earliest(simulator: Simulator, kis: KisHttp) -> None:
    symbol = simulator.truth.symbols()[2]
    base = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": "00000101",
        "FID_INPUT_DATE_2": "20250630",
        "FID_ORG_ADJ_PRC": "0",
    }
    truth = simulator.truth.daily_prices(date(2024, 1, 2), date(2025, 6, 30), [symbol]).set_index("time")
    counts = {}
    for period in ("D", "W", "M", "Y"):
        body, _ = kis.ok("FHKST03010100", {**base, "FID_PERIOD_DIV_CODE": period})
        counts[period] = len(body["output2"])
        if period == "M":
            june = body["output2"][0]
            month = truth.loc[[d for d in truth.index if (d.year, d.month) == (2025, 6)]]
            assert june["stck_bsop_date"] == "20250630"
            assert int(june["stck_oprc"]) == month["open"].iloc[0]
            assert (
                int(june["stck_hgpr"]) == month["high"].max() and int(june["stck_lwpr"]) == month["low"].min()
            )
            assert int(june["acml_vol"]) == month["volume"].sum()
    assert counts == {"D": 100, "W": 79, "M": 18, "Y": 2}
    refused = kis.get("FHKST03010100", {**base, "FID_PERIOD_DIV_CODE": "Q"})
    assert refused.json()["rt_cd"] == "1" and "FID_PERIOD_DIV_CODE" in refused.json()["msg1"]


def test_nx_and_un_answer_differently_from_j(simulator: Simulator, kis: KisHttp) -> None:
    symbol = simulator.truth.symbols()[0]
    params = {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": "20250630"}
    rows = {
        code: kis.ok("FHPPG04650201", {**params, "FID_COND_MRKT_DIV_CODE": code})[0]["output"][0]
        for code in ("J", "NX", "UN")
    }
    j, un = rows["J"], rows["UN"]
    assert int(un["whol_smtn_shnu_vol"]) == round(int(j["whol_smtn_shnu_vol"]) * 1.8)
    assert rows["NX"]["whol_smtn_shnu_vol"] != j["whol_smtn_shnu_vol"] and un["stck_clpr"] == j["stck_clpr"]
    flows = {
        code: kis.ok("FHPTJ04160001", {**_investor(symbol), "FID_COND_MRKT_DIV_CODE": code})[0]["output2"]
        for code in ("J", "UN")
    }
    nets = [
        (int(a["frgn_ntby_qty"]), int(b["frgn_ntby_qty"]))
        for a, b in zip(flows["J"], flows["UN"], strict=True)
    ]
    assert all(j_net * un_net < 0 for j_net, un_net in nets if j_net)
    assert all(
        int(r["frgn_shnu_vol"]) - int(r["frgn_seln_vol"]) - int(r["frgn_ntby_qty"]) in (-1, 0, 1)
        for r in flows["UN"]
    )
    with httpx.Client(base_url=simulator.base_url) as client:
        refused = client.get(
            "/uapi/domestic-stock/v1/quotations/inquire-price",
            params={"FID_COND_MRKT_DIV_CODE": "XX", "FID_INPUT_ISCD": symbol},
            headers=kis.headers("FHKST01010100"),
        )
    assert refused.json()["rt_cd"] == "1" and "FID_COND_MRKT_DIV_CODE" in refused.json()["msg1"]
