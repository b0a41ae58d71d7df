"""Local client credentials and the tokens the gateway hands out instead of the real one.

A client token is `<expiry epoch>.<HMAC(client name, expiry)>` under a key derived from the real app
secret: the gateway verifies it without any state, so a restarted gateway accepts the tokens it issued
before, and the real access token never leaves the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kis_intel_assets.gateway.config import LocalClient
from kis_intel_assets.kis.secrets import Secret


@dataclass(frozen=True)
class Refusal:
    """Why a request is not forwarded, as a KIS error code and text."""

    http_status: int
    msg_cd: str
    msg1: str


UNKNOWN_CLIENT = Refusal(403, "EGW00103", "유효하지 않은 AppKey입니다. (unknown gateway client credentials)")
TOKEN_INVALID = Refusal(500, "EGW00121", "유효하지 않은 token 입니다")
TOKEN_EXPIRED = Refusal(500, "EGW00123", "기간이 만료된 token 입니다")


class ClientDirectory:
    """Finds the configured client for an (app key, app secret) pair; comparisons are constant-time."""

    def __init__(self, clients: tuple[LocalClient, ...], real_app_secret: Secret) -> None:
        self._by_key_digest = {_digest(c.app_key.reveal()): c for c in clients}
        kdf = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"kis-intel gateway client tokens v1"
        )
        self._token_key = kdf.derive(real_app_secret.reveal().encode())

    def __repr__(self) -> str:
        return f"ClientDirectory({len(self._by_key_digest)} clients)"

    def authenticate(self, app_key: str, app_secret: str) -> LocalClient | None:
        client = self._by_key_digest.get(_digest(app_key))
        if client is None or not app_secret:
            return None
        return (
            client if hmac.compare_digest(client.app_secret.reveal().encode(), app_secret.encode()) else None
        )

    def authenticate_headers(self, headers: Mapping[str, str]) -> LocalClient | None:
        return self.authenticate(headers.get("appkey", ""), headers.get("appsecret", ""))

    def issue(self, client: LocalClient, expires_epoch: int) -> str:
        """The client's token for this expiry (the same string every time: KIS re-issues the same token)."""
        return f"{expires_epoch}.{self._mac(client, expires_epoch)}"

    def check(self, client: LocalClient, authorization: str) -> Refusal | None:
        """None when `authorization` is `Bearer <this client's unexpired token>`."""
        scheme, _, token = authorization.partition(" ")
        expiry, _, mac = token.strip().partition(".")
        if (
            scheme.lower() != "bearer"
            or not expiry.isdigit()
            or not hmac.compare_digest(mac.encode(), self._mac(client, int(expiry)).encode())
        ):
            return TOKEN_INVALID
        return TOKEN_EXPIRED if int(expiry) <= time.time() else None

    def _mac(self, client: LocalClient, expires_epoch: int) -> str:
        message = f"{client.name}\x00{expires_epoch}".encode()
        return hmac.new(self._token_key, message, hashlib.sha256).hexdigest()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
