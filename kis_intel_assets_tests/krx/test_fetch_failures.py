"""What a KRX asset's run says when the portal does not give a window's data: each client failure becomes
one step failure (no retry, nothing written) or the failed schema check, naming the bld and the table."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.collect import RejectedData
from kis_intel_assets.defs.krx.fetch import fetch_days
from kis_intel_assets.krx import KRXClient, KRXCredentials, portal
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_app import Corruption
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets_tests.support.krx import ACCOUNT, DAY

Factory = Callable[..., KRXSimulator]
TABLE = "krx_short_balance"


def test_a_block_fails_the_step_at_once_without_a_retry(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    sim.block()
    client = make_client(sim)
    with pytest.raises(dg.Failure) as raised:
        fetch_days(client.short_balance, TABLE, portal.BALANCE_BLD, [DAY])
    assert raised.value.description is not None
    assert raised.value.description.startswith(f"KRX {portal.BALANCE_BLD} → {TABLE}: KRX portal blocked")
    assert raised.value.description.endswith("; nothing was written")
    assert raised.value.allow_retries is False


def test_a_refused_login_fails_the_step_pointing_at_the_krx_login(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    client = make_client(sim, credentials=KRXCredentials(ACCOUNT, "not-the-password"))
    with pytest.raises(dg.Failure) as raised:
        fetch_days(client.short_balance, TABLE, portal.BALANCE_BLD, [DAY])
    assert raised.value.description is not None and "KRX refused the login" in raised.value.description
    assert raised.value.description.endswith("check KRX_ID / KRX_PW")
    assert "not-the-password" not in raised.value.description
    assert raised.value.allow_retries is False


def test_a_bad_field_is_the_failed_schema_check_naming_symbol_and_field(
    kis_sim: Simulator, krx_simulator_factory: Factory, make_client: Callable[..., KRXClient]
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    sim.corrupt(Corruption(portal.BALANCE_BLD, portal.BALANCE_QTY, "12x"))
    with pytest.raises(RejectedData) as raised:
        fetch_days(make_client(sim).short_balance, TABLE, portal.BALANCE_BLD, [DAY])
    check = raised.value.check
    assert raised.value.table == TABLE and not check.passed
    assert check.metadata["field"].value == portal.BALANCE_QTY
    assert check.metadata["symbol"].value in kis_sim.truth.listed_symbols(DAY)
    assert check.description is not None and check.description.endswith("; nothing was written")


def test_no_days_is_an_empty_frame_without_a_request(
    krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    before = krx_sim.stats.total()
    assert fetch_days(make_client(krx_sim).short_balance, TABLE, portal.BALANCE_BLD, []).empty
    assert krx_sim.stats.total() == before
