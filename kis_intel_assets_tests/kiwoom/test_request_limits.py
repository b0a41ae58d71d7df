"""Kiwoom's request limit is per app key and TR (docs/kiwoom_api.md "Request limits"): the client's limiters
against the simulator's buckets, per TR, per key and with a total over all TRs, over loopback and the real
PostgreSQL limiter. Rates are asserted on what the simulator served, with bounds a busy machine keeps."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from kis_intel_assets.kis import RetrySettings
from kis_intel_assets.kiwoom import KiwoomConfig
from kis_intel_assets.kiwoom.limits import RateLimitRefusal, read_rate_limit_refusal
from kis_intel_assets_tests.support.kiwoom import busiest_second, collect_two_trs

WINDOW = (dt.date(2024, 5, 2), dt.date(2024, 6, 28))  # one page per request
TRS = ("ka10014", "ka90013")
# Enough attempts that the retries absorb a server counting less than the client's budget allows.
PATIENT_RETRY = RetrySettings(max_attempts=40, backoff_base_seconds=0.02, backoff_cap_seconds=0.2)


def refusals(sim, limit_code: int) -> int:
    return sum(n for (_, code), n in sim.stats.limit_refusals.items() if code == limit_code)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (
            429,
            5,
            "허용된 요청 개수를 초과하였습니다"
            "[1700:허용된 API 요청 개수를 초과하였습니다. 유량=5, API ID=ka10080]",
            RateLimitRefusal(1700, 5, "ka10080"),
        ),
        (
            200,
            5,
            "허용된 요청 개수를 초과하였습니다[1701:허용된 전체 요청 개수를 초과하였습니다. 총유량=20]",
            RateLimitRefusal(1701, 20, None),
        ),
        (
            200,
            1702,
            "허용된 그룹 요청 개수를 초과하였습니다. 총유량=8, API_ID=ka10059",
            RateLimitRefusal(1702, 8, "ka10059"),
        ),
        (
            200,
            5,
            "[1702:허용된 그룹 요청 개수를 초과하였습니다. 총유량=8, API_ID=ka10059]",
            RateLimitRefusal(1702, 8, "ka10059"),
        ),
        (200, 5, "허용된 전체 요청 개수를 초과하였습니다[1701:총유량=20]", RateLimitRefusal(1701, 20, None)),
        (429, None, "", RateLimitRefusal(None, None, None)),
        (
            200,
            1687,
            "재귀 호출이 발생하여 API 호출을 제한합니다, API ID=ka10014",
            RateLimitRefusal(1687, None, "ka10014"),
        ),
        (200, 1902, "[1902:존재하지 않는 종목코드입니다]", None),
        (200, 0, "정상적으로 처리되었습니다", None),
    ],
)
def test_a_refusal_reads_its_code_figure_and_tr(status, code, message, expected):
    assert read_rate_limit_refusal(status, code, message) == expected


def test_the_limit_settings_are_checked(database_url):
    with pytest.raises(ValueError, match=r"rate_limit_scope must be 'per_tr'.*or 'per_key'.*got 'per_app'"):
        KiwoomConfig(app_key="k", app_secret="s", database_url=database_url, rate_limit_scope="per_app")
    with pytest.raises(ValueError, match="total_rate_limit_per_sec must be positive or None"):
        KiwoomConfig(app_key="k", app_secret="s", database_url=database_url, total_rate_limit_per_sec=0)


def test_each_tr_has_its_own_budget(kiwoom_factory, make_client):
    """Two TRs at the client's 5/s each: no refusals, and together above what one bucket admits."""
    sim = kiwoom_factory(rate_limit_per_sec=5.0)
    client = make_client(sim, rate_limit_per_sec=5.0)
    collect_two_trs(client, sim, WINDOW)
    assert sim.stats.limit_refusals == {}
    assert all(busiest_second(sim.stats.served_at(tr)) <= 5 for tr in TRS)
    assert busiest_second(sim.stats.served_at()) > 5


def test_a_client_counting_per_key_stays_under_a_per_tr_server(kiwoom_factory, make_client):
    sim = kiwoom_factory(rate_limit_per_sec=5.0)
    client = make_client(sim, rate_limit_per_sec=5.0, rate_limit_scope="per_key")
    collect_two_trs(client, sim, WINDOW)
    assert sim.stats.limit_refusals == {}
    assert busiest_second(sim.stats.served_at()) <= 5


def test_a_per_key_server_refuses_a_per_tr_client_which_adapts(kiwoom_factory, make_client, caplog, app_key):
    """The server counts the whole key at 3/s; the client's 8/s per TR gets [1700] answers naming 유량=3,
    retries them, records the figure and lowers the TRs' budgets for every process."""
    sim = kiwoom_factory(rate_limit_per_sec=3.0, rate_limit_scope="per_key")
    client = make_client(sim, rate_limit_per_sec=8.0, retry=PATIENT_RETRY, rate_limit_wait_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="kis_intel_assets.kiwoom.session"):
        collect_two_trs(client, sim, WINDOW)
    metrics = client.session.metrics
    assert refusals(sim, 1700) == metrics.retries["rate_limited"] > 0
    assert {tr: metrics.server_quota.get(tr) for tr in TRS} == {"ka10014": 3, "ka90013": 3}
    lowered = [tr for tr in TRS if client.session.limiters.bucket(tr).budget_in_force < 8.0]
    assert lowered and metrics.budget_changes
    warnings = [r.getMessage() for r in caplog.records if "states a limit" in r.getMessage()]
    assert any("3 requests/s for TR ka10014" in w and "8/s" in w for w in warnings)
    token = client.session._tokens.get().value.reveal()
    for secret in (app_key, f"secret-{app_key[::-1]}", token):
        assert secret not in caplog.text


@pytest.mark.parametrize("client_cap", [None, 6.0])
def test_a_total_limit_over_all_trs(kiwoom_factory, make_client, client_cap, caplog):
    """The server admits 5/s per TR but 6/s over all of them: a client without a total cap gets [1701]
    answers and still completes; one capped at the same figure gets none."""
    sim = kiwoom_factory(rate_limit_per_sec=5.0, total_rate_limit_per_sec=6.0)
    client = make_client(
        sim,
        rate_limit_per_sec=5.0,
        total_rate_limit_per_sec=client_cap,
        retry=PATIENT_RETRY,
        rate_limit_wait_seconds=0.05,
    )
    with caplog.at_level(logging.WARNING, logger="kis_intel_assets.kiwoom.session"):
        collect_two_trs(client, sim, WINDOW)
    assert refusals(sim, 1700) == 0
    if client_cap is None:
        assert refusals(sim, 1701) == client.session.metrics.retries["rate_limited"] > 0
        assert client.session.metrics.server_quota["total"] == 6
        assert "the key's total over all TRs; the client is configured for no total cap" in caplog.text
    else:
        assert refusals(sim, 1701) == 0
        assert busiest_second(sim.stats.served_at()) <= 6


def test_a_tr_granted_less_than_the_budget_is_paced_at_the_stated_figure(kiwoom_factory, make_client):
    """The server grants each TR 3/s, the client is configured for 5/s: the first [1700] states 유량=3 and
    that becomes the TR's budget for every process, so the refusals stop after the first few."""
    sim = kiwoom_factory(rate_limit_per_sec=3.0)
    client = make_client(sim, rate_limit_per_sec=5.0, retry=PATIENT_RETRY, rate_limit_wait_seconds=0.05)
    collect_two_trs(client, sim, WINDOW)
    metrics = client.session.metrics
    assert 0 < refusals(sim, 1700) == metrics.retries["rate_limited"]
    assert all(client.session.limiters.bucket(tr).budget_in_force == 3.0 for tr in TRS)
    assert sorted(metrics.budget_changes) == ["ka10014: 5/s -> 3/s", "ka90013: 5/s -> 3/s"]
    # a client reading the same key's budget from PostgreSQL starts at the stated figure
    other = make_client(sim, rate_limit_per_sec=5.0)
    for tr in TRS:
        with other.session.limiters.bucket(tr).turn():
            assert other.session.limiters.bucket(tr).budget_in_force == 3.0
