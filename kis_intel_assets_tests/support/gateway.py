"""The gateway's local clients (the real app key lives only in the gateway; each client has its own local
credentials) and the HTTP a KIS client sends through it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kis_intel_assets.gateway import Gateway, LocalClient
from kis_intel_assets.kis import Secret

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


def metric(gateway: Any, line_start: str) -> float:
    """Sum of the samples whose line starts with this name{labels…} prefix."""
    text = httpx.get(gateway.base_url + "/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))
