"""KIS's own 업종 codes: CTPF1002R serves 3-digit codes and KIS's names; the client keys a sector by
(market, code) through the 4-digit 업종 index code, so a KOSPI and a KOSDAQ sector with the same 3-digit
code never merge, and keeps KIS's raw code."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.masters import sector_index_code
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets_tests.support.kis_market import sim_config


def test_stock_info_maps_kis_codes_to_unique_index_codes(make_config: Callable[..., KISConfig]) -> None:
    with running_simulator(sim_config(n_symbols=80, rate_limit_per_sec=200.0)) as sim:
        with KISSession(make_config(sim, rate_limit_per_sec=100.0)) as session:
            client = KISClient(session)
            infos = [client.stock_info(symbol) for symbol in sim.truth.listed_symbols(sim_config().end)]
            token = session._tokens.get().value.reveal()
        raw = httpx.get(
            f"{sim.base_url}/uapi/domestic-stock/v1/quotations/search-stock-info",
            params={"PRDT_TYPE_CD": "300", "PDNO": infos[0].symbol},
            headers={
                "authorization": f"Bearer {token}",
                "appkey": client.config.app_key.reveal(),
                "appsecret": client.config.app_secret.reveal(),
                "tr_id": "CTPF1002R",
            },
        ).json()["output"]
    assert raw["pdno"] == "00000A" + infos[0].symbol and len(raw["idx_bztp_mcls_cd"]) == 3
    assert raw["idx_bztp_lcls_cd"] in ("002", "004")  # size class, as in KIS's example ("002" 대형주)
    for info in infos:
        assert (
            len(info.sector_kis_code) == 3
            and info.sector_code == {"KOSPI": "0", "KOSDAQ": "1"}[info.market] + info.sector_kis_code
        )
    markets_by_raw: dict[str, set[str]] = {}
    for info in infos:
        markets_by_raw.setdefault(info.sector_kis_code, set()).add(info.market)
    shared = [code for code, markets in markets_by_raw.items() if len(markets) == 2]
    assert shared, "the universe must have a 3-digit code used in both markets"
    for code in shared:
        by_market = {i.market: (i.sector_code, i.sector_name) for i in infos if i.sector_kis_code == code}
        assert by_market["KOSPI"][0] != by_market["KOSDAQ"][0]
    assert any(i.sector_name == "전기,전자" and i.sector_kis_code == "013" for i in infos)  # KIS's example


def test_index_codes_put_the_market_in_front_and_refuse_other_shapes() -> None:
    assert (sector_index_code("KOSPI", "013"), sector_index_code("KOSDAQ", "013")) == ("0013", "1013")
    for bad in ("0013", "13", "abc", ""):
        assert sector_index_code("KOSPI", bad) is None
