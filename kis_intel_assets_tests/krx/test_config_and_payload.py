"""No credentials, no request; strict parsing names bld, symbol and field; secrets stay out of logs,
reprs, exceptions and the database."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import psycopg
import pytest

from kis_intel_assets.krx import (
    KRXBlockedError,
    KRXClient,
    KRXCredentials,
    KRXLoginError,
    KRXNotConfiguredError,
    KRXPayloadError,
    portal,
)
from kis_intel_assets.krx.session import SessionSettings
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_app import Corruption
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets_tests.support.krx import ACCOUNT, DAY, PASSWORD

Factory = Callable[..., KRXSimulator]


def test_no_credentials_no_client_and_no_request(krx_sim: KRXSimulator, database_url: str) -> None:
    before = krx_sim.stats.total()
    with pytest.raises(KRXNotConfiguredError):
        KRXClient(krx_sim.base_url, None, database_url)
    assert KRXCredentials.from_env({}) is None
    assert KRXCredentials.from_env({"KRX_ID": "someone"}) is None
    with pytest.raises(KRXNotConfiguredError):
        KRXCredentials("", "x")
    assert krx_sim.stats.total() == before
    configured = KRXCredentials.from_env({"KRX_ID": ACCOUNT, "KRX_PW": PASSWORD})
    assert configured is not None and configured.password.reveal() == PASSWORD


@pytest.mark.parametrize(
    ("bld", "field", "value", "problem"),
    [
        (portal.INVESTOR_BLD, portal.BUY_VOLUME, "1,2x4", "not an integer"),
        (portal.INVESTOR_BLD, portal.SELL_VALUE, None, "missing"),
        (portal.INVESTOR_BLD, portal.NET_VOLUME, "-", "not an integer"),
        (portal.INVESTOR_BLD, portal.NET_VOLUME, "7", "is not buy - sell"),
        (portal.BALANCE_BLD, portal.BALANCE_QTY, "", "not an integer"),
        (portal.BALANCE_BLD, portal.LISTED_SHARES, "12.5", "not an integer"),
        (portal.BALANCE_BLD, portal.BALANCE_RATIO, "n/a", "not a number"),
    ],
)
def test_malformed_field_names_bld_symbol_and_field(
    kis_sim: Simulator,
    krx_simulator_factory: Factory,
    make_client: Callable[..., KRXClient],
    bld: str,
    field: str,
    value: str | None,
    problem: str,
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    sim.corrupt(Corruption(bld, field, value))
    client = make_client(sim)
    call = client.investor_flows if bld == portal.INVESTOR_BLD else client.short_balance
    with pytest.raises(KRXPayloadError) as raised:
        call(DAY)
    error = raised.value
    assert (error.bld, error.field) == (bld, field) and problem in error.problem
    assert error.symbol in kis_sim.truth.listed_symbols(DAY)
    assert error.symbol in str(error) and field in str(error) and bld in str(error)


def test_absent_ratio_is_null_not_zero(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    sim.corrupt(Corruption(portal.BALANCE_BLD, portal.BALANCE_RATIO, "-"))
    balance = make_client(sim).short_balance(DAY)
    assert balance.balance_ratio.isna().sum() == 2  # the first row of each market's table
    assert (balance.balance_ratio.dropna() >= 0).all()


def test_secrets_stay_out_of_logs_reprs_exceptions_and_database(
    kis_sim: Simulator,
    krx_simulator_factory: Factory,
    make_client: Callable[..., KRXClient],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = krx_simulator_factory(kis_sim.model, block_after_requests=15)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    wrong = make_client(sim, credentials=KRXCredentials("another-user", "another-secret-pw"))
    with pytest.raises(KRXLoginError) as refused:  # requests 1-3
        wrong.short_balance(DAY)
    credentials = KRXCredentials(ACCOUNT, PASSWORD)
    client = make_client(sim, credentials=credentials)
    client.short_balance(DAY)  # requests 4-8
    sim.login_elsewhere(ACCOUNT)
    with pytest.raises(KRXBlockedError) as blocked:  # LOGOUT, CD011, skipDup, then the 16th is blocked
        client.investor_flows(DAY)
    assert sim.stats.answers["login:CD011"] == 1 and sim.stats.answers["logout"] == 1
    texts += [repr(credentials), str(credentials), f"{credentials}", repr(client), repr(client._session)]
    texts += [repr(client._session.settings)]
    settings = SessionSettings("https://krx", "postgresql://u:db-s3cret@h/db", 1.0, dt.timedelta(0), 1.0, 1.0)
    assert "db-s3cret" not in repr(settings)
    texts += [str(e) + repr(e) + repr(vars(e)) for e in (refused.value, blocked.value)]
    with psycopg.connect(database_url) as conn:
        texts += [str(row) for row in conn.execute("SELECT * FROM krx_circuit").fetchall()]
    assert "ends it" in caplog.text and "blocked" in caplog.text  # the events are logged ...
    joined = "\n".join([*texts, caplog.text])
    for secret in (ACCOUNT, PASSWORD, "another-user", "another-secret-pw"):
        assert secret not in joined  # ... without a credential anywhere
