"""One logged-in portal session per client: login, the session cookie, one re-login on "LOGOUT", block
detection and shared pacing. Every HTTP request, login steps included, passes the circuit breaker first
and then the shared limiter, so a blocked portal is never asked again and no process bursts.

The login follows the portal's flow (docs/krx_portal.md): GET the login page (it issues JSESSIONID), GET
login.jsp, POST MDCCOMS001D1.cmd with mbrId / pw. CD001 is success. CD011 means the account has a live
session elsewhere: the portal lets the login through when the same form is sent again with skipDup=Y,
which ends that other session (a browser, or another process with the same account). A session older
than `max_age_seconds` is replaced before use (the portal's sessions last about an hour); an answer
"LOGOUT" (session gone: expired, or ended by a login elsewhere) gets exactly one fresh login and one
repeat of the request. Nothing is retried in a loop: the portal blocks heavy users, and a retry during a
block extends it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.krx import portal
from kis_intel_assets.krx.circuit import Circuit
from kis_intel_assets.krx.credentials import KRXCredentials
from kis_intel_assets.krx.errors import (
    KRXBlockedError,
    KRXLoggedOutError,
    KRXLoginError,
    KRXPayloadError,
    KRXUnavailableError,
)

log = logging.getLogger(__name__)

USER_AGENT = "Mozilla/5.0 (compatible; kis-intel)"
LOGIN = "login"
DEFAULT_MAX_AGE_SECONDS = 3300.0  # the portal's ~1 h session, less a margin


def limiter_key(portal_name: str) -> str:
    """The pacing key of a portal in the shared limiter tables (a 64-hex key, like a KIS app key hash)."""
    return hashlib.sha256(f"krx-portal:{portal_name}".encode()).hexdigest()


def block_reason(response: httpx.Response) -> str | None:
    """Why `response` is the portal's block answer (403, or the block notice under any status), or None."""
    text = response.text[:20_000]
    notice = next((marker for marker in portal.BLOCK_MARKERS if marker in text), None)
    if notice:
        return f"HTTP {response.status_code} with the portal's block notice ({notice})"
    if response.status_code == 403:
        return "HTTP 403"
    return None


class KRXSession:
    """Thread-safe: requests of one session go one at a time (the portal is paced at about 1/s anyway)."""

    def __init__(
        self,
        base_url: str,
        credentials: KRXCredentials,
        *,
        limiter: PostgresRateLimiter,
        circuit: Circuit,
        clock: Callable[[], datetime],
        timeout_seconds: float,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    ) -> None:
        self._credentials = credentials
        self._limiter = limiter
        self._circuit = circuit
        self._clock = clock
        self._max_age = max_age_seconds
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout_seconds,
            headers={
                "User-Agent": USER_AGENT,
                "Referer": base_url.rstrip("/") + portal.REFERER_PATH,
                "X-Requested-With": "XMLHttpRequest",
            },
        )
        self._lock = threading.Lock()
        self._logged_in_at: float | None = None
        self.requests: Counter[str] = Counter()  # HTTP requests sent, by bld (and "login" for login steps)
        self.logins = 0
        self.duplicate_logins = 0

    def __repr__(self) -> str:
        return f"KRXSession(portal={self._circuit.portal!r}, logins={self.logins})"

    def close(self) -> None:
        self._http.close()

    def _send(self, label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._circuit.check(self._clock())
        with self._limiter.turn():
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                self.requests[label] += 1
                raise KRXUnavailableError(f"KRX portal unreachable ({label}): {type(exc).__name__}") from None
        self.requests[label] += 1
        reason = block_reason(response)
        if reason is not None:
            reopens = self._circuit.open(self._clock(), reason)
            log.error("KRX portal blocked this client (%s); no KRX request before %s", reason, reopens)
            raise KRXBlockedError(reopens, reason)
        if response.status_code >= 500:
            raise KRXUnavailableError(f"KRX portal answered HTTP {response.status_code} ({label})")
        return response

    def _login(self) -> None:
        self._logged_in_at = None
        self._http.cookies.clear()
        self._send(LOGIN, "GET", portal.LOGIN_PAGE_PATH)
        self._send(LOGIN, "GET", portal.LOGIN_JSP_PATH, params={"site": "mdc"})
        form = {
            "mbrNm": "",
            "telNo": "",
            "di": "",
            "certType": "",
            "mbrId": self._credentials.login_id.reveal(),
            "pw": self._credentials.password.reveal(),
        }
        code, message = self._login_answer(form)
        if code == portal.LOGIN_DUPLICATE:
            self.duplicate_logins += 1
            log.warning("KRX login: the account had a live session elsewhere; logging in ends it")
            code, message = self._login_answer({**form, portal.SKIP_DUPLICATE: "Y"})
        if code != portal.LOGIN_OK:
            raise KRXLoginError(code, message)
        self.logins += 1
        self._logged_in_at = time.monotonic()
        log.info("KRX login ok (%s)", self._circuit.portal)

    def _login_answer(self, form: Mapping[str, str]) -> tuple[str, str]:
        response = self._send(LOGIN, "POST", portal.LOGIN_PATH, data=form)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KRXPayloadError(
                LOGIN, None, "_error_code", f"HTTP {response.status_code}, not JSON"
            ) from None
        if not isinstance(body, Mapping) or not isinstance(body.get("_error_code"), str):
            raise KRXPayloadError(LOGIN, None, "_error_code", "missing")
        return body["_error_code"], str(body.get("_error_message") or "")[:200]

    def _session_live(self) -> bool:
        return self._logged_in_at is not None and time.monotonic() - self._logged_in_at < self._max_age

    def fetch(self, bld: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        """The JSON answer of `bld` for `params`, from a logged-in session."""
        with self._lock:
            if not self._session_live():
                self._login()
            response = self._post(bld, params)
            if _logged_out(response):
                log.info("KRX answered LOGOUT to %s: logging in again once", bld)
                self._login()
                response = self._post(bld, params)
                if _logged_out(response):
                    self._logged_in_at = None
                    raise KRXLoggedOutError(bld)
        if response.status_code != 200:
            raise KRXPayloadError(bld, None, "body", f"HTTP {response.status_code}")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KRXPayloadError(bld, None, "body", "not JSON") from None
        if not isinstance(body, Mapping):
            raise KRXPayloadError(bld, None, "body", "not a JSON object")
        return body

    def _post(self, bld: str, params: Mapping[str, str]) -> httpx.Response:
        return self._send(bld, "POST", portal.JSON_PATH, data={**params, "bld": bld})


def _logged_out(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500 and response.text.strip() == portal.LOGGED_OUT_BODY
