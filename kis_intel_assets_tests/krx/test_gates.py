"""Publication gates: no balance request before the morning of T+3, no investor table before the day is
final; and the client stays correct when the portal publishes later than the client's gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest

from kis_intel_assets.krx import KRXClient, KRXNotPublishedError, PublicationGates
from kis_intel_assets.krx.portal import BALANCE_BLD, INVESTOR_BLD
from kis_intel_assets.krx.publication import KST
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets.simulator.model import MarketModel

T = dt.date(2025, 6, 24)  # Tue; T+3 is Fri 2025-06-27


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), KST)


def test_balance_is_not_requested_before_the_morning_of_t_plus_3(
    own_market: Callable[[], MarketModel],
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    sim = krx_simulator_factory(own_market())
    client = make_client(sim)
    for now in (at(T, 20), at(dt.date(2025, 6, 26), 23, 59), at(dt.date(2025, 6, 27), 8, 30)):
        sim.model.clock.set(now)
        with pytest.raises(KRXNotPublishedError) as raised:
            client.short_balance(T)
        assert raised.value.available_from == at(dt.date(2025, 6, 27), 9)
        assert (raised.value.dataset, raised.value.day) == ("short_balance", T)
        with pytest.raises(KRXNotPublishedError):
            client.short_balance_history("005930", dt.date(2025, 6, 2), T)
    assert sim.stats.total() == 0 and client.request_count == 0
    sim.model.clock.set(at(dt.date(2025, 6, 27), 9))
    pd.testing.assert_frame_equal(client.short_balance(T), sim.truth.short_balance(T))


def test_a_gate_earlier_than_the_portal_gets_not_published_not_zeros(
    own_market: Callable[[], MarketModel],
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    sim = krx_simulator_factory(
        own_market(), balance_visible_from=dt.time(10, 0), investor_final_after=dt.time(19, 0)
    )
    client = make_client(sim)
    sim.model.clock.set(at(dt.date(2025, 6, 27), 9, 30))  # past the client's 09:00, before the portal's 10:00
    with pytest.raises(KRXNotPublishedError):
        client.short_balance(T)
    sim.model.clock.set(at(T, 18, 30))  # past the client's 18:00, the portal publishes at 19:00
    with pytest.raises(KRXNotPublishedError):
        client.investor_flows(T)
    # it asked (its gate allowed it), read the first empty table as "not yet" and asked no more
    assert client.requests == {"login": 3, BALANCE_BLD: 1, INVESTOR_BLD: 1}


def test_investor_flows_wait_for_the_final_table(
    own_market: Callable[[], MarketModel],
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    sim = krx_simulator_factory(own_market(), investor_before="partial")
    client = make_client(sim)
    sim.model.clock.set(at(T, 14))
    with pytest.raises(KRXNotPublishedError) as raised:
        client.investor_flows(T)
    assert raised.value.available_from == at(T, 18)
    assert sim.stats.total() == 0
    early = make_client(sim, gates=PublicationGates(investor_final_after=dt.time(13, 0)))
    partial = early.investor_flows(T, markets=("KOSPI",))  # a gate set too early reads the session so far
    sim.model.clock.set(at(T, 18))
    final = client.investor_flows(T, markets=("KOSPI",))
    assert final.buy.sum() > partial.buy.sum() > 0
    pd.testing.assert_frame_equal(
        final,
        sim.truth.investor_flows(T).pipe(lambda f: f[f.symbol.isin(final.symbol)].reset_index(drop=True)),
    )
