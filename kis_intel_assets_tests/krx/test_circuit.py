"""A block opens the circuit in PostgreSQL: no further KRX request that day from any client of the
database, and no retry that would extend the block."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg
import pytest

from kis_intel_assets.krx import KRXBlockedError, KRXClient
from kis_intel_assets.krx.circuit import reopening
from kis_intel_assets.krx.publication import KST
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets_tests.support.krx import CREDENTIALS, DAY

NOW = dt.datetime(2025, 6, 30, 19, 0, tzinfo=KST)


def test_reopening_is_the_later_of_next_midnight_and_the_hold() -> None:
    detected = dt.datetime(2025, 6, 30, 10, 0, tzinfo=KST)
    assert reopening(detected) == dt.datetime(2025, 7, 1, 10, 0, tzinfo=KST)
    assert reopening(detected, dt.timedelta(0)) == dt.datetime(2025, 7, 1, 0, 0, tzinfo=KST)
    late = dt.datetime(2025, 6, 30, 23, 59, tzinfo=KST)
    assert reopening(late, dt.timedelta(hours=1)) == dt.datetime(2025, 7, 1, 0, 59, tzinfo=KST)


@pytest.mark.parametrize("block_form", ["403_page", "200_page"])
def test_block_stops_every_client_of_the_database_for_the_day(
    own_market: Callable[[], MarketModel],
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
    database_url: str,
    block_form: str,
) -> None:
    sim = krx_simulator_factory(own_market(), block_after_requests=10, block_form=block_form)
    sim.model.clock.set(NOW)
    first = make_client(sim)
    with pytest.raises(KRXBlockedError) as raised:
        first.investor_flows(DAY)  # 3 login steps + 24 tables: the 11th request is refused
    assert sim.stats.total() == 11 and first.request_count == 11
    assert raised.value.reopens_at == reopening(NOW)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT portal, reason, reopens_at FROM krx_circuit").fetchall()
    assert len(rows) == 1 and rows[0][0] == first.portal and rows[0][2] == reopening(NOW)
    assert CREDENTIALS.login_id.reveal() not in rows[0][1]

    second = make_client(sim)  # another process of the same database
    for client in (first, second):
        for call in (client.short_balance, client.investor_flows):
            with pytest.raises(KRXBlockedError):
                call(DAY)
    assert sim.stats.total() == 11, "no request reaches a blocked portal"
    assert second.request_count == 0

    # The next simulated day the portal serves again, but the circuit holds 24 h from detection.
    sim.model.clock.set(NOW + dt.timedelta(hours=6))
    with pytest.raises(KRXBlockedError):
        second.short_balance(DAY)
    sim.model.clock.set(reopening(NOW) + dt.timedelta(minutes=1))
    sim.unblock()  # a fresh request window (the simulator counts real seconds)
    assert not second.short_balance(DAY).empty


def test_answers_while_blocked_only_push_reopening_later(
    own_market: Callable[[], MarketModel],
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    sim = krx_simulator_factory(own_market())
    sim.model.clock.set(NOW)
    sim.block()
    early = make_client(sim, block_hold=dt.timedelta(hours=30))
    with pytest.raises(KRXBlockedError) as first:
        early.short_balance(DAY)
    late = make_client(sim, block_hold=dt.timedelta(0), clock=lambda: NOW - dt.timedelta(hours=1))
    with pytest.raises(KRXBlockedError) as second:
        late.short_balance(DAY)
    assert second.value.reopens_at == first.value.reopens_at == NOW + dt.timedelta(hours=30)
    assert sim.stats.total() == 1
