"""Access tokens: one per app key, shared by every process and run through PostgreSQL.

KIS allows one issuance per minute per app key (EGW00133) and notifies the account holder on each,
so a token is issued once, stored encrypted (AES-GCM, key = HKDF-SHA256 of the app secret, row keyed by
a hash of the app key, never the key itself) and reused until shortly before it expires. Issuance runs
under a transaction-scoped advisory lock on the key hash and re-checks the store after acquiring it, so
concurrent processes issue exactly one token between them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.errors import KISTokenError
from kis_intel_assets.kis.metrics import ClientMetrics
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.storage import DatabaseTimeouts, connect

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/tokenP"
TOO_FREQUENT = "EGW00133"


def app_key_hash(app_key: Secret) -> str:
    """Stable, non-reversible identifier of an app key (the store and the limiter are keyed by it)."""
    return hashlib.sha256(b"kis-intel/app-key/v1:" + app_key.reveal().encode()).hexdigest()


def advisory_lock_id(key_hash: str) -> int:
    """A signed 63-bit int for pg_advisory_xact_lock, derived from the key hash."""
    return int(key_hash[:15], 16)


class TokenCipher:
    """AES-GCM with a key derived from the app secret; the key hash is bound in as associated data."""

    def __init__(self, app_secret: Secret, key_hash: str) -> None:
        kdf = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=bytes.fromhex(key_hash),
            info=b"kis-intel token store v1",
        )
        self._aead = AESGCM(kdf.derive(app_secret.reveal().encode()))
        self._aad = key_hash.encode()

    def __repr__(self) -> str:
        return "TokenCipher(***)"

    def encrypt(self, token: Secret) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, token.reveal().encode(), self._aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes) -> Secret | None:
        """None when the row was written under another app secret (rotated): the caller re-issues."""
        try:
            return Secret(self._aead.decrypt(nonce, ciphertext, self._aad).decode())
        except InvalidTag:
            return None


@dataclass(frozen=True)
class AccessToken:
    value: Secret
    expires_at: dt.datetime  # timezone-aware

    def usable(self, margin_seconds: float) -> bool:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=margin_seconds) < self.expires_at


class TokenProvider:
    """Hands out the shared token; `refresh(stale)` replaces one that KIS called expired (EGW00123)."""

    def __init__(
        self,
        config: KISConfig,
        http: httpx.Client,
        metrics: ClientMetrics,
        paced: Callable[[], AbstractContextManager[object]],  # the pacing slot; its value is unused
    ) -> None:
        self._config = config
        self._http = http
        self._metrics = metrics
        self._paced = paced
        self._key_hash = app_key_hash(config.app_key)
        self._cipher = TokenCipher(config.app_secret, self._key_hash)
        self._lock = threading.Lock()
        self._cached: AccessToken | None = None

    def __repr__(self) -> str:
        return "TokenProvider(***)"

    def get(self) -> AccessToken:
        with self._lock:
            margin = self._config.token.expiry_margin_seconds
            if self._cached is None or not self._cached.usable(margin):
                self._cached = self._load_or_issue(stale=None)
            return self._cached

    def refresh(self, stale: AccessToken) -> AccessToken:
        with self._lock:
            if self._cached is None or self._cached.value == stale.value:
                self._metrics.count_token("refresh")
                self._cached = self._load_or_issue(stale=stale)
            return self._cached

    def _load_or_issue(self, stale: AccessToken | None) -> AccessToken:
        margin = self._config.token.expiry_margin_seconds
        with (
            connect(self._config.database_url.reveal(), timeouts=self._store_timeouts()) as conn,
            conn.transaction(),
        ):
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_lock_id(self._key_hash),))
            row = conn.execute(
                "SELECT nonce, ciphertext, expires_at FROM kis_token_store WHERE key_hash = %s",
                (self._key_hash,),
            ).fetchone()
            if row is not None:
                value = self._cipher.decrypt(row[0], row[1])
                stored = AccessToken(value, row[2]) if value is not None else None
                if stored and stored.usable(margin) and (stale is None or stored.value != stale.value):
                    return stored
            issued = self._issue()
            nonce, ciphertext = self._cipher.encrypt(issued.value)
            conn.execute(
                """INSERT INTO kis_token_store (key_hash, nonce, ciphertext, expires_at, issued_at)
                   VALUES (%s, %s, %s, %s, now())
                   ON CONFLICT (key_hash) DO UPDATE SET nonce = EXCLUDED.nonce,
                       ciphertext = EXCLUDED.ciphertext, expires_at = EXCLUDED.expires_at,
                       issued_at = EXCLUDED.issued_at, updated_at = now()""",
                (self._key_hash, nonce, ciphertext, issued.expires_at),
            )
            return issued

    def _store_timeouts(self) -> DatabaseTimeouts:
        """Issuance holds the store's lock while it waits out EGW00133 (about a minute per attempt), so the
        lock wait and the idle transaction may last every attempt; all other bounds stay the defaults."""
        settings = self._config.token
        issuing = settings.issuance_max_attempts * (
            settings.issuance_retry_wait_seconds + self._config.read_timeout_seconds
        )
        defaults = DatabaseTimeouts.from_env()
        longest = max(defaults.statement_seconds, issuing + 30.0)
        return replace(defaults, statement_seconds=longest, idle_in_transaction_seconds=longest)

    def _issue(self) -> AccessToken:
        """POST /oauth2/tokenP; on EGW00133 waits the configured interval and tries again."""
        settings = self._config.token
        body = {
            "grant_type": "client_credentials",
            "appkey": self._config.app_key.reveal(),
            "appsecret": self._config.app_secret.reveal(),
        }
        for attempt in range(1, settings.issuance_max_attempts + 1):
            try:
                with self._paced():
                    response = self._http.post(self._config.base_url + TOKEN_PATH, json=body)
            except httpx.TransportError as exc:
                problem = f"transport error {type(exc).__name__}"
            else:
                payload = _json_object(response)
                if response.status_code == 200 and isinstance(payload.get("access_token"), str):
                    self._metrics.count_token("issuance")
                    return _access_token(payload)
                code = str(payload.get("error_code") or payload.get("msg_cd") or "")
                problem = f"HTTP {response.status_code} {code}".strip()
                if code != TOO_FREQUENT and response.status_code < 500:
                    raise KISTokenError(f"token issuance refused: {problem}")
                if code == TOO_FREQUENT:
                    self._metrics.count_token("issuance_wait")
            if attempt < settings.issuance_max_attempts:
                log.warning(
                    "token issuance failed (%s); retrying in %.1f s",
                    problem,
                    settings.issuance_retry_wait_seconds,
                )
                time.sleep(settings.issuance_retry_wait_seconds)
        attempts = settings.issuance_max_attempts
        raise KISTokenError(f"token issuance failed after {attempts} attempts: {problem}")


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _access_token(payload: dict[str, object]) -> AccessToken:
    """Expiry from the relative expires_in, so client/server clock skew cannot shorten or extend it."""
    value = payload["access_token"]
    expires_in = payload.get("expires_in")
    try:
        seconds = int(str(expires_in))
    except ValueError:
        raise KISTokenError("token reply has no usable expires_in") from None
    if not isinstance(value, str) or not value or seconds <= 0:
        raise KISTokenError("token reply has an empty token or a non-positive lifetime")
    return AccessToken(Secret(value), dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))
