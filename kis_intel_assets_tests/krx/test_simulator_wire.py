"""The KRX simulator on the wire, without our client: LOGOUT without a session, the login answers, and the
portal's field names, envelope keys and number formatting (docs/krx_portal.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from kis_intel_assets.krx import portal
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets_tests.support.krx import ACCOUNT, PASSWORD

NUMBER = re.compile(r"-?\d{1,3}(,\d{3})*")
FORM = {
    "strtDd": "20250620",
    "endDd": "20250620",
    "mktId": "STK",
    "invstTpCd": "9000",
    "bld": portal.INVESTOR_BLD,
}


def test_no_session_is_logout_and_a_login_serves_the_portal_format(
    kis_sim: Simulator, krx_simulator_factory: Callable[..., KRXSimulator]
) -> None:
    krx_sim = krx_simulator_factory(kis_sim.model)  # its own sessions: no earlier login of the account
    with httpx.Client(base_url=krx_sim.base_url, timeout=10) as http:
        refused = http.post(portal.JSON_PATH, data=FORM)
        assert (refused.status_code, refused.text) == (400, "LOGOUT")

        http.get(portal.LOGIN_PAGE_PATH)
        assert portal.SESSION_COOKIE in http.cookies
        wrong = http.post(portal.LOGIN_PATH, data={"mbrId": ACCOUNT, "pw": "nope"}).json()
        assert wrong["_error_code"] == "CD002" and PASSWORD not in str(wrong)
        assert (
            http.post(portal.LOGIN_PATH, data={"mbrId": ACCOUNT, "pw": PASSWORD}).json()["_error_code"]
            == "CD001"
        )

        body = http.post(portal.JSON_PATH, data=FORM).json()
        assert set(body) == {portal.INVESTOR_ROWS, portal.CURRENT_DATETIME}
        assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2} [AP]M \d{2}:\d{2}:\d{2}", body[portal.CURRENT_DATETIME])
        rows = body[portal.INVESTOR_ROWS]
        assert rows and list(rows[0]) == [portal.SYMBOL_FIELD, portal.NAME_FIELD, *portal.INVESTOR_FIELDS]
        assert all(NUMBER.fullmatch(row[f]) for row in rows for f in portal.INVESTOR_FIELDS)
        assert any(row[portal.NET_VALUE].startswith("-") for row in rows)
        nets = [int(row[portal.NET_VALUE].replace(",", "")) for row in rows]
        assert nets == sorted(nets, reverse=True)  # ranked by net buying value, as the portal ranks

        balance = http.post(
            portal.JSON_PATH, data={"trdDd": "20250620", "mktTpCd": "2", "bld": portal.BALANCE_BLD}
        )
        rows = balance.json()[portal.BALANCE_ROWS]
        assert list(rows[0]) == [
            portal.BALANCE_SYMBOL,
            portal.BALANCE_NAME,
            portal.BALANCE_QTY,
            portal.LISTED_SHARES,
            portal.BALANCE_AMOUNT,
            portal.MARKET_CAP,
            portal.BALANCE_RATIO,
        ]
        assert all(re.fullmatch(r"\d+\.\d{2}", row[portal.BALANCE_RATIO]) for row in rows)
        assert (
            http.post(portal.JSON_PATH, data={**FORM, "bld": "dbms/MDC/STAT/standard/NOPE"}).status_code
            == 400
        )
