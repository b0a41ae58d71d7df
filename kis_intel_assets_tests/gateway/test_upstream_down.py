"""With KIS unreachable, the gateway still answers every local client at once, in KIS's own error shapes:
a token request is 503 KGW00503, an approval-key request 502 KGW00502, and a malformed request is refused
before the upstream is tried."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from kis_intel_assets.gateway import Gateway
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets_tests.support.clients import FAST_RETRY, FAST_TOKEN
from kis_intel_assets_tests.support.gateway import LOCAL_CLIENTS, GatewayFactory


@pytest.fixture
def stopped_sim() -> Iterator[Simulator]:
    """A simulator that has stopped: its address refuses connections, as KIS down does."""
    config = SimulatorConfig(seed=7, n_symbols=8, start=dt.date(2025, 1, 2), end=dt.date(2025, 3, 31))
    with running_simulator(config) as sim:
        pass
    yield sim


@pytest.fixture
def gateway(stopped_sim: Simulator, gateway_factory: GatewayFactory) -> Gateway:
    return gateway_factory(stopped_sim, kis_settings={"retry": FAST_RETRY, "token": FAST_TOKEN})


def test_a_token_request_is_503_when_the_real_token_cannot_be_had(gateway: Gateway) -> None:
    key, secret = LOCAL_CLIENTS["bot"]
    body = {"grant_type": "client_credentials", "appkey": key, "appsecret": secret}
    reply = httpx.post(gateway.base_url + "/oauth2/tokenP", json=body, timeout=60)
    assert reply.status_code == 503
    assert reply.json()["error_code"] == "KGW00503"


def test_an_approval_key_request_is_502_when_kis_is_unreachable(gateway: Gateway) -> None:
    key, secret = LOCAL_CLIENTS["notebook"]
    body = {"grant_type": "client_credentials", "appkey": key, "secretkey": secret}
    reply = httpx.post(gateway.base_url + "/oauth2/Approval", json=body, timeout=60)
    assert reply.status_code == 502
    assert reply.json() == {
        "error_code": "KGW00502",
        "error_description": "KIS에 연결할 수 없습니다 (upstream unreachable)",
    }


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"grant_type": "password"}', b"\xff\xfe"],
)
def test_a_malformed_token_request_is_refused_without_asking_kis(gateway: Gateway, content: bytes) -> None:
    reply = httpx.post(gateway.base_url + "/oauth2/tokenP", content=content, timeout=10)
    assert reply.status_code == 403
    assert reply.json()["error_code"] == "EGW00002"


def test_a_revoke_with_unknown_credentials_is_refused(gateway: Gateway) -> None:
    body = {"appkey": "someone", "appsecret": "else", "token": "x"}
    reply = httpx.post(gateway.base_url + "/oauth2/revokeP", json=body, timeout=10)
    assert reply.status_code == 403
    assert reply.json()["error_code"] == "EGW00103"
