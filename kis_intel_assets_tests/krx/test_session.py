"""Login, the session cookie, one re-login on LOGOUT, session expiry and duplicate login (CD011)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import pytest

from kis_intel_assets.krx import KRXClient, KRXCredentials, KRXLoggedOutError, KRXLoginError, portal
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets_tests.support.krx import ACCOUNT, DAY

Factory = Callable[..., KRXSimulator]


def test_one_login_serves_many_requests(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    client = make_client(sim)
    client.short_balance(DAY)
    client.investor_flows(DAY, markets=("KOSPI",))
    assert client.logins == 1 and client.requests["login"] == 3
    assert sim.stats.answers["login:CD001"] == 1 and sim.stats.answers["logout"] == 0


def test_clients_of_one_process_share_one_login(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    first, second = (make_client(sim, share_session=True) for _ in range(2))
    first.short_balance(DAY, markets=("KOSPI",))
    second.short_balance(DAY, markets=("KOSPI",))
    assert sim.stats.answers["login:CD001"] == 1 and sim.stats.answers["login:CD011"] == 0
    assert (first.logins, second.logins) == (1, 0)
    assert first.requests == {"login": 3, portal.BALANCE_BLD: 1} and second.requests == {
        portal.BALANCE_BLD: 1
    }
    first.close()  # a shared session outlives one client
    assert not second.short_balance(DAY, markets=("KOSDAQ",)).empty
    other = make_client(sim, share_session=True, requests_per_second=20.0)  # other settings: own session
    other.short_balance(DAY, markets=("KOSPI",))
    assert other.logins == 1


@pytest.mark.parametrize("logout_status", [400, 404])
def test_logout_gets_one_fresh_login(
    kis_sim: Simulator,
    krx_simulator_factory: Factory,
    make_client: Callable[..., KRXClient],
    logout_status: int,
) -> None:
    sim = krx_simulator_factory(kis_sim.model, logout_status=logout_status)
    client = make_client(sim)
    first = client.short_balance(DAY)
    sim.expire_sessions()  # the portal forgets the session (expiry on its side)
    pd.testing.assert_frame_equal(client.short_balance(DAY), first)
    assert sim.stats.answers["logout"] == 1
    assert client.logins == 2
    assert client.requests[portal.BALANCE_BLD] == 2 + 2 + 1  # the refused request is sent once more


def test_session_expiry_on_the_portal_clock(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model, session_seconds=0.5)
    client = make_client(sim)
    client.short_balance(DAY, markets=("KOSPI",))
    time.sleep(0.6)
    client.short_balance(DAY, markets=("KOSPI",))
    assert sim.stats.answers["logout"] == 1 and client.logins == 2


def test_session_older_than_max_age_is_replaced_before_use(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    client = make_client(sim, session_max_age_seconds=0.2)
    client.short_balance(DAY, markets=("KOSPI",))
    time.sleep(0.3)
    client.short_balance(DAY, markets=("KOSPI",))
    # no request is wasted on LOGOUT; the portal sees our own old session as a duplicate, skipDup ends it
    assert sim.stats.answers["logout"] == 0
    assert client.logins == 2 and sim.stats.answers["login:CD011"] == 1


def test_login_elsewhere_ends_our_session_and_we_take_it_back(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    client = make_client(sim)
    client.short_balance(DAY, markets=("KOSPI",))
    sim.login_elsewhere(ACCOUNT)  # a browser logs in with the same account (skipDup=Y)
    frame = client.short_balance(DAY, markets=("KOSPI",))
    assert not frame.empty
    assert sim.stats.answers["logout"] == 1  # our session had ended
    assert sim.stats.answers["login:CD011"] == 1  # the browser's session was live: duplicate login
    assert sim.stats.answers["login:CD001"] == 2


def test_two_clients_same_account_each_login_once_per_logout(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    first, second = make_client(sim), make_client(sim)
    first.short_balance(DAY, markets=("KOSPI",))
    second.short_balance(DAY, markets=("KOSPI",))  # CD011 -> skipDup ends the first client's session
    first.short_balance(DAY, markets=("KOSPI",))  # LOGOUT -> one re-login
    assert (first.logins, second.logins) == (2, 1)
    assert sim.stats.answers["logout"] == 1


def test_still_logged_out_after_a_fresh_login_raises(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model, session_seconds=0.001)
    client = make_client(sim)
    with pytest.raises(KRXLoggedOutError) as raised:
        client.short_balance(DAY)
    assert raised.value.bld == portal.BALANCE_BLD
    assert sim.stats.answers["logout"] == 2  # the first answer and the one repeat, no more


def test_refused_login_is_a_login_error(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    client = make_client(sim, credentials=KRXCredentials(ACCOUNT, "wrong-password-123"))
    with pytest.raises(KRXLoginError) as raised:
        client.short_balance(DAY)
    assert raised.value.code == "CD002"
    assert "wrong-password-123" not in str(raised.value)
    assert sim.stats.served() == 0


def test_password_change_required_is_a_login_error_that_says_so(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model, password_change_accounts=frozenset({ACCOUNT}))
    client = make_client(sim)
    with pytest.raises(KRXLoginError) as raised:
        client.investor_flows(DAY)
    assert raised.value.code == portal.LOGIN_PASSWORD_CHANGE and "new password" in str(raised.value)
    assert client.request_count == 3 and sim.stats.served() == 0  # the login steps only, once
