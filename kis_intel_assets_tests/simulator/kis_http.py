"""A minimal plain-httpx caller for simulator tests (deliberately not the project's KIS client)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from kis_intel_assets.simulator import Simulator

PATHS = {
    "FHKST01010900": "quotations/inquire-investor",
    "FHPTJ04160001": "quotations/investor-trade-by-stock-daily",
    "FHPTJ04400000": "quotations/foreign-institution-total",
    "FHPTJ04040000": "quotations/inquire-investor-daily-by-market",
    "FHPST04830000": "quotations/daily-short-sale",
    "HHPST074500C0": "quotations/daily-loan-trans",
    "FHPPG04650101": "quotations/program-trade-by-stock",
    "FHPPG04650201": "quotations/program-trade-by-stock-daily",
    "FHPPG04600001": "quotations/comp-program-trade-daily",
    "FHKST01010100": "quotations/inquire-price",
    "FHKST03010100": "quotations/inquire-daily-itemchartprice",
    "CTPF1002R": "quotations/search-stock-info",
    "FHPUP02120000": "quotations/inquire-index-daily-price",
    "CTPF1604R": "quotations/search-info",
    "FHKST01010400": "quotations/inquire-daily-price",
    "FHKST03010200": "quotations/inquire-time-itemchartprice",
    "FHKST03010230": "quotations/inquire-time-dailychartprice",
    "FHKST01010200": "quotations/inquire-asking-price-exp-ccn",
    "FHKST01010300": "quotations/inquire-ccnl",
    "FHKUP03500100": "quotations/inquire-daily-indexchartprice",
    "FHPTJ04030000": "quotations/inquire-investor-time-by-market",
    "FHPST01710000": "quotations/volume-rank",
    "CTCA0903R": "quotations/chk-holiday",
}


@dataclass
class KisHttp:
    sim: Simulator
    app_key: str = "test-app-key"
    app_secret: str = "test-app-secret"
    client: httpx.Client = field(init=False)
    token: str = ""

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.sim.base_url, timeout=10.0)

    def issue_token(self) -> httpx.Response:
        return self.client.post(
            "/oauth2/tokenP",
            json={"grant_type": "client_credentials", "appkey": self.app_key, "appsecret": self.app_secret},
        )

    def login(self) -> KisHttp:
        response = self.issue_token()
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return self

    def headers(self, tr_id: str, tr_cont: str = "") -> dict[str, str]:
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.app_key,
            "appsecret": self.app_secret,
            "tr_id": tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }

    def get(
        self, tr_id: str, params: dict[str, str], tr_cont: str = "", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.client.get(
            "/uapi/domestic-stock/v1/" + PATHS[tr_id],
            params=params,
            headers=headers if headers is not None else self.headers(tr_id, tr_cont),
        )

    def ok(self, tr_id: str, params: dict[str, str], tr_cont: str = "") -> tuple[dict, str]:
        response = self.get(tr_id, params, tr_cont)
        body = response.json()
        assert response.status_code == 200 and body["rt_cd"] == "0", (response.status_code, body)
        return body, response.headers["tr_cont"]

    def all_pages(self, tr_id: str, params: dict[str, str], list_key: str) -> list[dict]:
        body, tr_cont = self.ok(tr_id, params)
        rows = list(body[list_key])
        while tr_cont == "M":
            body, tr_cont = self.ok(tr_id, params, "N")
            rows.extend(body[list_key])
        return rows
