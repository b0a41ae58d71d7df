"""au10001 access tokens, kept in the same encrypted PostgreSQL store as the KIS tokens.

The KIS `TokenProvider` already does the hard part (one token per key for every process, issuance under an
advisory lock, AES-GCM at rest, refresh of a token the server called invalid); only issuance differs, and the
row is keyed by a Kiwoom-namespaced hash so a key string used at both brokers never shares a row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

from kis_intel_assets.kis.metrics import ClientMetrics
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.tokens import AccessToken, TokenCipher, TokenProvider, _json_object
from kis_intel_assets.kiwoom.config import KiwoomConfig
from kis_intel_assets.kiwoom.endpoints import TOKEN_PATH
from kis_intel_assets.kiwoom.errors import KiwoomTokenError

log = logging.getLogger(__name__)

KST = dt.timezone(dt.timedelta(hours=9))
EXPIRES_FORMAT = "%Y%m%d%H%M%S"


def kiwoom_key_hash(app_key: Secret) -> str:
    """Non-reversible identifier of a Kiwoom app key (token row and rate-limit budget are keyed by it)."""
    return hashlib.sha256(b"kis-intel/kiwoom-app-key/v1:" + app_key.reveal().encode()).hexdigest()


def parse_expires_dt(value: object) -> dt.datetime:
    """`expires_dt` is KST wall-clock YYYYMMDDHHMMSS (Kiwoom's own client reads it so)."""
    try:
        return dt.datetime.strptime(str(value), EXPIRES_FORMAT).replace(tzinfo=KST)
    except ValueError:
        raise KiwoomTokenError(f"au10001 expires_dt is not YYYYMMDDHHMMSS: {str(value)[:20]!r}") from None


class KiwoomTokenProvider(TokenProvider):
    def __init__(
        self,
        config: KiwoomConfig,
        http: httpx.Client,
        metrics: ClientMetrics,
        paced: Callable[[], AbstractContextManager[None]],
    ) -> None:
        super().__init__(config, http, metrics, paced)  # type: ignore[arg-type]  # same attribute names
        self._key_hash = kiwoom_key_hash(config.app_key)
        self._cipher = TokenCipher(config.app_secret, self._key_hash)

    def __repr__(self) -> str:
        return "KiwoomTokenProvider(***)"

    def _issue(self) -> AccessToken:
        """POST /oauth2/token; transport failures and 5xx are retried, a return_code != 0 is final."""
        settings = self._config.token
        body = {
            "grant_type": "client_credentials",
            "appkey": self._config.app_key.reveal(),
            "secretkey": self._config.app_secret.reveal(),
        }
        problem = ""
        for attempt in range(1, settings.issuance_max_attempts + 1):
            try:
                with self._paced():
                    response = self._http.post(
                        self._config.base_url + TOKEN_PATH,
                        json=body,
                        headers={"content-type": "application/json;charset=UTF-8"},
                    )
            except httpx.TransportError as exc:
                problem = f"transport error {type(exc).__name__}"
            else:
                payload = _json_object(response)
                code = payload.get("return_code")
                if response.status_code == 200 and code == 0:
                    self._metrics.count_token("issuance")
                    return _access_token(payload)
                problem = (
                    f"HTTP {response.status_code} return_code {code}: {str(payload.get('return_msg'))[:80]}"
                )
                if response.status_code < 500:
                    raise KiwoomTokenError(f"token issuance refused: {problem}")
            if attempt < settings.issuance_max_attempts:
                log.warning(
                    "au10001 failed (%s); retrying in %.1f s", problem, settings.issuance_retry_wait_seconds
                )
                time.sleep(settings.issuance_retry_wait_seconds)
        raise KiwoomTokenError(
            f"token issuance failed after {settings.issuance_max_attempts} attempts: {problem}"
        )


def _access_token(payload: dict[str, object]) -> AccessToken:
    value = payload.get("token")
    if not isinstance(value, str) or not value:
        raise KiwoomTokenError("au10001 answer has no token")
    expires = parse_expires_dt(payload.get("expires_dt"))
    if expires <= dt.datetime.now(dt.UTC):
        raise KiwoomTokenError("au10001 answer expires_dt is already past")
    return AccessToken(Secret(value), expires)
