"""Wire protocol over real loopback HTTP: tokens, rate limits, errors, case-insensitivity, paging, clock."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from datetime import date, datetime

import httpx

from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.simulator.kis_http import KisHttp

Factory = Callable[..., Simulator]


def _chart_params(symbol: str) -> dict[str, str]:
    return {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": "20250101",
        "FID_INPUT_DATE_2": "20250630",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }


def test_token_once_per_minute_same_token_and_expiry(simulator: Simulator) -> None:
    kis = KisHttp(simulator, app_key="token-key")
    first = kis.issue_token()
    assert first.status_code == 200
    refused = kis.issue_token()
    assert refused.status_code == 403
    assert refused.json() == {
        "error_code": "EGW00133",
        "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    }
    assert simulator.stats.token_issuances("token-key") == 1
    assert simulator.stats.token_refusals("token-key") == 1
    other = KisHttp(simulator, app_key="another-key").login()  # each key has its own budget
    assert other.token != first.json()["access_token"]

    kis.token = first.json()["access_token"]
    symbol = simulator.truth.symbols()[0]
    assert kis.get("FHKST03010100", _chart_params(symbol)).status_code == 200
    assert simulator.expire_tokens("token-key") == 1
    expired = kis.get("FHKST03010100", _chart_params(symbol))
    assert expired.status_code == 500
    assert expired.json()["msg_cd"] == "EGW00123" and expired.json()["rt_cd"] == "1"
    kis.token = "not-a-token"
    assert kis.get("FHKST03010100", _chart_params(symbol)).json()["msg_cd"] == "EGW00121"


def test_token_reissue_returns_same_token(simulator_factory: Factory) -> None:
    sim = simulator_factory(n_symbols=8, token_min_interval_seconds=0.0)
    kis = KisHttp(sim)
    tokens = {kis.issue_token().json()["access_token"] for _ in range(3)}
    assert len(tokens) == 1
    sim.expire_tokens()
    assert kis.issue_token().json()["access_token"] not in tokens


def test_rate_limit_sliding_window_both_styles(simulator_factory: Factory) -> None:
    for style, status in (("500", 500), ("200", 200)):
        sim = simulator_factory(n_symbols=8, rate_limit_per_sec=5.0, rate_limit_style=style)
        kis = KisHttp(sim).login()
        params = _chart_params(sim.truth.symbols()[0])
        responses = [kis.get("FHKST03010100", params) for _ in range(8)]
        limited = [r for r in responses if r.json()["msg_cd"] == "EGW00201"]
        assert len(limited) >= 3 and all(r.status_code == status for r in limited)
        assert all(
            r.json()["rt_cd"] == "1" and r.json()["msg1"] == "초당 거래건수를 초과하였습니다" for r in limited
        )
        admitted = [r for r in responses if r.json()["rt_cd"] == "0"]
        assert len(admitted) == 5
        time.sleep(1.05)
        assert kis.get("FHKST03010100", params).json()["rt_cd"] == "0"
        assert sim.stats.max_requests_in_window(kis.app_key) >= 8


def test_paper_mode_refuses_real_only_and_limits_to_two(simulator_factory: Factory) -> None:
    sim = simulator_factory(n_symbols=8, paper=True)
    kis = KisHttp(sim).login()
    symbol = sim.truth.symbols()[0]
    refused = kis.get(
        "FHPST04830000",
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": symbol,
            "FID_INPUT_DATE_1": "20250101",
            "FID_INPUT_DATE_2": "20250131",
        },
    )
    assert refused.json()["msg_cd"] == "MCA00124"
    time.sleep(1.05)
    codes = [kis.get("FHKST03010100", _chart_params(symbol)).json()["msg_cd"] for _ in range(3)]
    assert codes == ["MCA00000", "MCA00000", "EGW00201"]


def test_headers_and_params_are_case_insensitive(simulator: Simulator, kis: KisHttp) -> None:
    symbol = simulator.truth.symbols()[1]
    upper = kis.get("FHKST03010100", _chart_params(symbol)).json()
    headers = {k.upper() if k != "appkey" else "appKey": v for k, v in kis.headers("FHKST03010100").items()}
    lower = kis.get(
        "FHKST03010100", {k.lower(): v for k, v in _chart_params(symbol).items()}, headers=headers
    )
    assert lower.status_code == 200 and lower.json() == upper


def test_errors_name_what_was_wrong(simulator: Simulator, kis: KisHttp) -> None:
    symbol = simulator.truth.symbols()[0]
    headers = kis.headers("FHKST03010100")
    del headers["appsecret"]
    missing = kis.get("FHKST03010100", _chart_params(symbol), headers=headers)
    assert missing.status_code == 500 and "appsecret" in missing.json()["msg1"]
    unknown = kis.get("FHKST03010100", _chart_params(symbol), headers={**kis.headers("FHZZZ0000000")})
    assert unknown.json()["msg_cd"] == "OPSQ0002"
    bad_date = kis.get("FHKST03010100", {**_chart_params(symbol), "FID_INPUT_DATE_1": "2025-01-01"})
    assert bad_date.json()["rt_cd"] == "1" and "FID_INPUT_DATE_1" in bad_date.json()["msg1"]
    no_symbol = kis.get("FHKST03010100", {**_chart_params(symbol), "FID_INPUT_ISCD": "999999"})
    assert no_symbol.status_code == 200 and no_symbol.json()["rt_cd"] == "7"


def test_daily_chart_caps_at_100_rows_newest_first(simulator: Simulator, kis: KisHttp) -> None:
    symbol = simulator.truth.symbols()[2]
    body, tr_cont = kis.ok("FHKST03010100", {**_chart_params(symbol), "FID_INPUT_DATE_1": "20240101"})
    dates = [row["stck_bsop_date"] for row in body["output2"]]
    assert tr_cont == "D" and len(dates) == 100 and dates == sorted(dates, reverse=True)
    assert dates[0] == "20250630"


def test_simulated_clock_hides_today_until_the_close(simulator_factory: Factory) -> None:
    sim = simulator_factory(n_symbols=6, now=datetime(2025, 6, 30, 10, 0))
    kis = KisHttp(sim).login()
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": sim.truth.symbols()[0]}
    body, _ = kis.ok("FHKST01010900", params)
    assert body["output"][0]["stck_bsop_date"] == "20250630"
    assert all(v == "" for k, v in body["output"][0].items() if k != "stck_bsop_date")
    assert body["output"][1]["stck_bsop_date"] == "20250627" and body["output"][1]["frgn_ntby_qty"] != ""
    sim.set_now(datetime(2025, 6, 30, 15, 45))
    body, _ = kis.ok("FHKST01010900", params)
    assert body["output"][0]["stck_bsop_date"] == "20250630" and body["output"][0]["stck_clpr"] != ""
    assert len(body["output"]) == 30


def test_master_files_list_the_universe(simulator: Simulator) -> None:
    codes = set()
    for name, tail in (("kospi_code.mst.zip", 227), ("kosdaq_code.mst.zip", 221)):
        archive = zipfile.ZipFile(io.BytesIO(httpx.get(f"{simulator.master_base_url}/{name}").content))
        lines = archive.read(archive.namelist()[0]).decode("cp949").splitlines()
        for line in lines:
            head, rest = line[:-tail], line[-tail:]
            if rest[:2] == "ST":
                codes.add(head[:9].rstrip())
                assert head[9:21].startswith("KR7") and head[21:].strip()
    assert codes == set(simulator.truth.listed_symbols(date(2025, 6, 30)))
    assert len(codes) < len(simulator.truth.symbols())  # a delisted stock has left the master files
