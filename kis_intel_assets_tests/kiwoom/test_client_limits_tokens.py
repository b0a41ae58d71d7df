"""Limit, token and no-data answers of the Kiwoom simulator, and how the client handles each."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from kis_intel_assets.kis import KISPayloadError, KISTransientError
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kiwoom import KiwoomAPIError, KiwoomBatchLimitError, KiwoomTokenError, endpoint
from kis_intel_assets.kiwoom.session import parse_rows
from kis_intel_assets.kiwoom.tokens import kiwoom_key_hash, parse_expires_dt
from kis_intel_assets_tests.support.kiwoom import short_truth

WINDOW = (dt.date(2024, 5, 2), dt.date(2024, 6, 28))


@pytest.mark.parametrize("status", [429, 200])
def test_rate_limit_answers_are_retried_with_backoff(kiwoom_factory, make_client, status):
    sim = kiwoom_factory(
        fault_rates={"rate_limited": 0.4}, rate_limit_status=status, fault_seed=3, rate_limit_per_sec=50.0
    )
    client = make_client(sim)
    symbols = sim.model.symbols()[:4]
    for symbol in symbols:
        assert client.short_selling(symbol, *WINDOW) == short_truth(sim, symbol, WINDOW)
    assert client.session.metrics.retries["rate_limited"] == sim.stats.answers[("ka10014", 5)] > 0


def test_the_simulators_own_limit_is_absorbed_by_retries(kiwoom_factory, make_client):
    """A client paced above the TR's real limit gets [1700] answers and still completes."""
    sim = kiwoom_factory(rate_limit_per_sec=4.0)
    client = make_client(sim, rate_limit_per_sec=40.0, rate_limit_wait_seconds=0.5)
    symbol = sim.model.symbols()[0]
    for _ in range(8):
        assert client.short_selling(symbol, *WINDOW) == short_truth(sim, symbol, WINDOW)
    assert client.session.metrics.retries["rate_limited"] == sim.stats.answers[("ka10014", 5)] > 0
    assert sim.stats.served("ka10014") == 8


def test_batch_over_100_is_not_retried(kiwoom_factory, make_client):
    sim = kiwoom_factory(fault_rates={"batch_limit": 1.0})
    client = make_client(sim)
    with pytest.raises(KiwoomBatchLimitError, match=r"1634.*tr_id=ka10014, symbol=") as caught:
        client.short_selling(sim.model.symbols()[0], *WINDOW)
    assert caught.value.return_code == 5
    assert sim.stats.answers[("ka10014", 5)] == 1  # one request, no retry


@pytest.mark.parametrize("status", [200, 401])
def test_an_invalid_token_is_refreshed_once(kiwoom_factory, make_client, status):
    sim = kiwoom_factory(invalid_token_status=status, reissue_same_token=False)
    client = make_client(sim)
    symbol = sim.model.symbols()[0]
    client.short_selling(symbol, *WINDOW)
    sim.expire_tokens()
    assert client.short_selling(symbol, *WINDOW) == short_truth(sim, symbol, WINDOW)
    assert client.session.metrics.token_refreshes == 1
    assert sim.stats.answers[("ka10014", 8005)] == 1
    assert sum(sim.stats.token_issuances.values()) == 2


def test_a_token_still_invalid_after_one_refresh_is_an_error(kiwoom_factory, make_client):
    sim = kiwoom_factory(fault_rates={"invalid_token": 1.0})
    client = make_client(sim)
    with pytest.raises(KiwoomAPIError, match="8005") as caught:
        client.short_selling(sim.model.symbols()[0], *WINDOW)
    assert caught.value.return_code == 8005
    assert sim.stats.answers[("ka10014", 8005)] == 2  # the call and its one repeat after the refresh


def test_token_is_shared_through_the_store_and_expires_at_kst_wall_clock(
    kiwoom_factory, make_client, database_url, app_key
):
    sim = kiwoom_factory(token_ttl_seconds=3600.0, reissue_same_token=False)
    first, second = make_client(sim), make_client(sim)
    symbol = sim.model.symbols()[0]
    first.short_selling(symbol, *WINDOW)
    second.short_selling(symbol, *WINDOW)
    assert sum(sim.stats.token_issuances.values()) == 1
    with psycopg.connect(database_url) as conn:
        expires_at, ciphertext = conn.execute(
            "SELECT expires_at, ciphertext FROM kis_token_store WHERE key_hash = %s",
            (kiwoom_key_hash(Secret(app_key)),),
        ).fetchone()
    lifetime = (expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert 3590 < lifetime <= 3600  # read as UTC it would be 9 h off
    assert app_key.encode() not in ciphertext


def test_expires_dt_is_read_as_kst():
    assert parse_expires_dt("20251109235445") == dt.datetime(2025, 11, 9, 14, 54, 45, tzinfo=dt.UTC)
    with pytest.raises(KiwoomTokenError, match="expires_dt"):
        parse_expires_dt("2025-11-09")


def test_wrong_keys_are_a_token_error_without_the_secret(kiwoom_factory, make_client, app_key):
    sim = kiwoom_factory(allowed_keys={"someone-else": "their-secret"})
    client = make_client(sim)
    with pytest.raises(KiwoomTokenError, match="8001") as caught:
        client.short_selling(sim.model.symbols()[0], *WINDOW)
    assert app_key not in str(caught.value) and "secret-" not in str(caught.value)
    assert "secret-" not in repr(client.session.config)


def test_no_data_answers(kiwoom_sim, make_client):
    client = make_client(kiwoom_sim)
    symbol = kiwoom_sim.model.symbols()[0]
    before_history = (dt.date(2023, 6, 1), dt.date(2023, 6, 30))
    assert client.short_selling(symbol, *before_history) == []
    assert client.investor_trends(symbol, *before_history) == []
    assert client.program_trading_all("KOSPI", dt.date(2024, 6, 29)) == []  # a Saturday
    with pytest.raises(KiwoomAPIError, match=r"1902.*symbol=999999") as caught:
        client.short_selling("999999", *WINDOW)
    assert caught.value.return_code == 1902


def test_a_broker_outage_ends_in_a_transient_error(kiwoom_factory, make_client):
    sim = kiwoom_factory()
    client = make_client(sim)
    client.short_selling(sim.model.symbols()[0], *WINDOW)
    sim.set_down(True)
    with pytest.raises(KISTransientError, match="http5xx"):
        client.short_selling(sim.model.symbols()[0], *WINDOW)


def test_strict_parsing_names_tr_and_field():
    spec = endpoint("ka10014")
    row = {
        "dt": "20240628",
        "close_pric": "-71000",
        "trde_qty": "100",
        "shrts_qty": "5",
        "shrts_trde_prica": "355000",
        "shrts_avg_pric": "71000",
    }
    assert parse_rows({"shrts_trnsn": [row]}, spec, "005930", 1)[0]["close"] == 71000
    with pytest.raises(KISPayloadError, match=r"'shrts_qty'.*missing.*tr_id=ka10014, symbol=005930"):
        parse_rows({"shrts_trnsn": [{k: v for k, v in row.items() if k != "shrts_qty"}]}, spec, "005930", 1)
    with pytest.raises(KISPayloadError, match=r"'trde_qty'.*not an integer"):
        parse_rows({"shrts_trnsn": [row | {"trde_qty": "1,000"}]}, spec, "005930", 1)
    with pytest.raises(KISPayloadError, match=r"'shrts_trnsn'.*missing"):
        parse_rows({"return_code": 0}, spec, "005930", 1)
