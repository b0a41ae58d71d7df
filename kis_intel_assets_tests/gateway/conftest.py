"""Gateway fixtures: a simulator, a migrated database and gateways in front of them.

The real app key lives only in the gateway; clients use their own local credentials (LOCAL_CLIENTS).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kis_intel_assets.gateway import Gateway, GatewaySettings, LocalClient, running_gateway
from kis_intel_assets.kis import KISConfig, Secret
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator

REAL_SECRET = "gateway-real-app-secret"
LOCAL_CLIENTS = {
    "bot": ("local-bot-key", "local-bot-secret"),
    "notebook": ("local-nb-key", "local-nb-secret"),
    "samples": ("local-samples-key", "local-samples-secret"),
}
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
PRICE_TR = "FHKST01010100"
GatewayFactory = Callable[..., Gateway]


def local_clients() -> tuple[LocalClient, ...]:
    return tuple(
        LocalClient(name, Secret(key), Secret(secret)) for name, (key, secret) in LOCAL_CLIENTS.items()
    )


def clients_toml(path: Path) -> Path:
    lines = [
        f'[[clients]]\nname = "{name}"\napp_key = "{key}"\napp_secret = "{secret}"\n'
        for name, (key, secret) in LOCAL_CLIENTS.items()
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def client_token(base_url: str, name: str) -> str:
    key, secret = LOCAL_CLIENTS[name]
    reply = httpx.post(
        base_url + "/oauth2/tokenP",
        json={"grant_type": "client_credentials", "appkey": key, "appsecret": secret},
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def kis_headers(name: str, token: str, tr_id: str = PRICE_TR, **extra: str) -> dict[str, str]:
    """The headers a KIS client sends, with this local client's credentials."""
    key, secret = LOCAL_CLIENTS[name]
    return {
        "content-type": "application/json; charset=utf-8",
        "authorization": f"Bearer {token}",
        "appkey": key,
        "appsecret": secret,
        "tr_id": tr_id,
        "custtype": "P",
        **extra,
    }


@pytest.fixture(scope="module")
def gateway_sim() -> Iterator[Simulator]:
    """A small simulator (KIS token rules: one issuance per minute per key) that pages every ranged TR
    with tr_cont, so the tests see that header pass through the gateway both ways."""
    config = SimulatorConfig(
        seed=7, n_symbols=12, start=dt.date(2024, 1, 2), end=dt.date(2025, 3, 31), paging_style="tr_cont"
    )
    with running_simulator(config) as sim:
        yield sim


@pytest.fixture
def real_key() -> str:
    return f"PSreal{uuid.uuid4().hex}"


@pytest.fixture
def gateway_factory(database_url: str, real_key: str) -> Iterator[GatewayFactory]:
    """Starts gateways in front of a simulator for the real key; all stop at test end."""
    with contextlib.ExitStack() as stack:

        def start(sim: Simulator, kis_settings: dict[str, Any] | None = None, **settings: Any) -> Gateway:
            kis = KISConfig(
                app_key=real_key,
                app_secret=REAL_SECRET,
                database_url=database_url,
                base_url=sim.base_url,
                rate_limit_per_sec=20.0,
                read_timeout_seconds=5.0,
                **(kis_settings or {}),
            )
            config = GatewaySettings(kis=kis, clients=local_clients(), **settings)
            return stack.enter_context(running_gateway(config))

        yield start
