"""Publication time and history limits: the real client against the simulator's clock over loopback.

KIS refuses FHPTJ04160001 until 15:41 KST ("TIME LIMIT 00:00 ~ 15:40"); whether it refuses past dates
too is unknown, so both variants run. Today's rows are final only after the close; the client learns
KIS's time from the Date header and never returns a running candle as a day's data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.publication import BEYOND_HISTORY, UNPUBLISHED
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets.simulator.clock import Publication
from kis_intel_assets_tests.support.kis_market import END, sim_config

TODAY = END  # 2025-03-31, a Monday
PAST = (dt.date(2025, 3, 24), dt.date(2025, 3, 28))


@pytest.mark.parametrize("scope", ["all", "today"])
def test_investor_trends_before_1541_raise_nothing_and_record_today(
    make_config: Callable[..., KISConfig], scope: str
) -> None:
    with running_simulator(sim_config(now=dt.datetime(2025, 3, 31, 15, 0), time_limit_scope=scope)) as sim:
        symbol = sim.truth.symbols()[0]
        with KISClient.connect(make_config(sim)) as client:
            frame = client.investor_trends(symbol, dt.date(2025, 3, 24), TODAY)
            unavailable = client.unavailable.days("FHPTJ04160001")
        refused = [
            r
            for r in sim.stats.requests(make_config(sim).app_key.reveal(), "FHPTJ04160001")
            if r.msg_cd == "OPSQ2001"
        ]
    assert refused, "the simulator must refuse before 15:41"
    assert TODAY in unavailable and unavailable[TODAY][0] == UNPUBLISHED
    assert "TIME LIMIT 00:00 ~ 15:40" in unavailable[TODAY][1]
    if scope == "today":  # past days are served and equal the truth
        truth = sim.truth.investor_trends(*PAST, [symbol])
        assert list(frame["time"]) == list(truth["time"])
        assert frame["foreign_net_value"].tolist() == truth["foreign_net_value"].tolist()
    else:  # every request is refused: the whole window is recorded as not published, nothing raised
        assert frame.empty and set(unavailable) >= set(truth_days(PAST[0], TODAY))


def truth_days(start: dt.date, end: dt.date) -> list[dt.date]:
    from kis_intel_assets.krx_calendar import trading_days

    return trading_days(start, end)


def test_the_running_candle_is_not_a_day_until_the_close(make_config: Callable[..., KISConfig]) -> None:
    with running_simulator(sim_config(now=dt.datetime(2025, 3, 31, 11, 0))) as sim:
        symbol = sim.truth.symbols()[1]
        with KISSession(make_config(sim)) as session:
            client = KISClient(session)
            during = client.daily_prices(symbol, dt.date(2025, 3, 24), TODAY)
            served = session.request(
                client_endpoint("FHKST03010100"),
                {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": "20250331", "FID_INPUT_DATE_2": "20250331"},
                symbol=symbol,
            ).body["output2"]
            assert TODAY in client.unavailable.days("FHKST03010100")
            sim.set_now(dt.datetime(2025, 3, 31, 16, 40))
            after = client.daily_prices(symbol, dt.date(2025, 3, 24), TODAY)
    truth = sim.truth.daily_prices(dt.date(2025, 3, 24), TODAY, [symbol])
    assert served and int(served[0]["acml_vol"]) < int(truth["volume"].iloc[-1])  # KIS shows the session
    assert TODAY not in set(during["time"]) and len(during) == len(truth) - 1
    assert after["volume"].tolist() == truth["volume"].tolist()


def client_endpoint(tr_id: str) -> Any:
    from kis_intel_assets.kis.endpoints import ENDPOINTS

    return ENDPOINTS[tr_id]


@pytest.mark.parametrize("form", ["refuse", "clip"])
def test_market_programme_older_than_eight_months_is_recorded_not_failed(
    make_config: Callable[..., KISConfig], form: str
) -> None:
    with running_simulator(sim_config(history_limit_form=form)) as sim:
        start, end = dt.date(2024, 6, 3), dt.date(2024, 8, 30)  # 2025-03-31 - 8 months = 2024-07-31
        with KISClient.connect(make_config(sim)) as client:
            frame = client.program_trading_market("KOSPI", start, end)
            unavailable = client.unavailable.days("FHPPG04600001")
    truth = sim.truth.program_trading_market(dt.date(2024, 8, 1), end)
    truth = truth[truth["market"] == "KOSPI"]
    assert sorted(set(frame["time"])) == sorted(set(truth["time"]))
    assert (
        frame.sort_values(["time", "trade_type"])["net_value"].tolist()
        == truth.sort_values(["time", "trade_type"])["net_value"].tolist()
    )
    assert set(unavailable) == set(truth_days(start, dt.date(2024, 7, 31)))
    assert {kind for kind, _ in unavailable.values()} == {BEYOND_HISTORY}
    assert "8개월 이상 과거 조회 불가" in next(iter(unavailable.values()))[1]


@pytest.mark.parametrize("form", ["blank", "absent", "refuse"])
def test_short_selling_published_later_than_assumed_never_returns_today(
    make_config: Callable[..., KISConfig], form: str
) -> None:
    """The publication time of short selling is unknown: whatever KIS does before it, today stays out."""
    late = {"FHPST04830000": Publication(dt.time(16, 10), form)}
    config = sim_config(now=dt.datetime(2025, 3, 31, 16, 0), publication=late, time_limit_scope="today")
    with running_simulator(config) as sim:
        symbol = sim.truth.symbols()[2]
        with KISClient.connect(make_config(sim)) as client:
            frame = client.short_selling(symbol, dt.date(2025, 3, 24), TODAY)
            unavailable = client.unavailable.days("FHPST04830000")
            sim.set_now(dt.datetime(2025, 3, 31, 16, 10))
            published = client.short_selling(symbol, dt.date(2025, 3, 24), TODAY)
    truth = sim.truth.short_selling(dt.date(2025, 3, 24), TODAY, [symbol])
    assert list(frame["time"]) == list(truth["time"])[:-1]  # no blank or refused row taken as data
    assert (TODAY in unavailable) == (form == "refuse")  # the other forms look like "no row": ingest notes it
    assert list(published["time"]) == list(truth["time"])
