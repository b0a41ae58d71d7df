"""One logged-in portal session per process: login, the session cookie, one re-login on "LOGOUT", block
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

import atexit
import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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


@dataclass
class Usage:
    """What one client's calls cost: HTTP requests by bld ("login" for login steps) and logins done."""

    requests: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    duplicate_logins: int = 0


@dataclass(frozen=True)
class SessionSettings:
    """Everything that identifies a portal session; equal settings in one process share one login."""

    base_url: str
    database_url: str = field(repr=False)  # may carry the database password
    requests_per_second: float
    block_hold: timedelta
    max_age_seconds: float
    timeout_seconds: float

    @property
    def portal(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url


class KRXSession:
    """One login, its cookie, the circuit and the pacing; thread-safe: requests go one at a time (the
    portal is paced at about 1/s anyway). Every call names the caller's clock and Usage."""

    def __init__(self, settings: SessionSettings, credentials: KRXCredentials) -> None:
        self.settings = settings
        self._credentials = credentials
        self.circuit = Circuit(settings.database_url, settings.portal, settings.block_hold)
        self._limiter = PostgresRateLimiter(
            settings.database_url, limiter_key(settings.portal), settings.requests_per_second
        )
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            headers={
                "User-Agent": USER_AGENT,
                "Referer": settings.base_url.rstrip("/") + portal.REFERER_PATH,
                "X-Requested-With": "XMLHttpRequest",
            },
        )
        self._lock = threading.Lock()
        self._logged_in_at: float | None = None

    def __repr__(self) -> str:
        return f"KRXSession(portal={self.settings.portal!r}, logged_in={self._logged_in_at is not None})"

    def close(self) -> None:
        self._http.close()
        self.circuit.close()
        self._limiter.close()

    def _send(
        self, label: str, method: str, path: str, clock: Callable[[], datetime], usage: Usage, **kwargs: Any
    ) -> httpx.Response:
        self.circuit.check(clock())
        with self._limiter.turn():
            usage.requests[label] += 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise KRXUnavailableError(f"KRX portal unreachable ({label}): {type(exc).__name__}") from None
        reason = block_reason(response)
        if reason is not None:
            reopens = self.circuit.open(clock(), reason)
            log.error("KRX portal blocked this client (%s); no KRX request before %s", reason, reopens)
            raise KRXBlockedError(reopens, reason)
        if response.status_code >= 500:
            raise KRXUnavailableError(f"KRX portal answered HTTP {response.status_code} ({label})")
        return response

    def _login(self, clock: Callable[[], datetime], usage: Usage) -> None:
        self._logged_in_at = None
        self._http.cookies.clear()
        self._send(LOGIN, "GET", portal.LOGIN_PAGE_PATH, clock, usage)
        self._send(LOGIN, "GET", portal.LOGIN_JSP_PATH, clock, usage, params={"site": "mdc"})
        form = {
            "mbrNm": "",
            "telNo": "",
            "di": "",
            "certType": "",
            "mbrId": self._credentials.login_id.reveal(),
            "pw": self._credentials.password.reveal(),
        }
        code, message = self._login_answer(form, clock, usage)
        if code == portal.LOGIN_DUPLICATE:
            usage.duplicate_logins += 1
            log.warning("KRX login: the account had a live session elsewhere; logging in ends it")
            code, message = self._login_answer({**form, portal.SKIP_DUPLICATE: "Y"}, clock, usage)
        if code != portal.LOGIN_OK:
            raise KRXLoginError(code, message)
        usage.logins += 1
        self._logged_in_at = time.monotonic()
        log.info("KRX login ok (%s)", self.settings.portal)

    def _login_answer(
        self, form: Mapping[str, str], clock: Callable[[], datetime], usage: Usage
    ) -> tuple[str, str]:
        response = self._send(LOGIN, "POST", portal.LOGIN_PATH, clock, usage, data=form)
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
        return (
            self._logged_in_at is not None
            and time.monotonic() - self._logged_in_at < self.settings.max_age_seconds
        )

    def fetch(
        self, bld: str, params: Mapping[str, str], *, clock: Callable[[], datetime], usage: Usage
    ) -> Mapping[str, Any]:
        """The JSON answer of `bld` for `params`, from a logged-in session."""
        with self._lock:
            if not self._session_live():
                self._login(clock, usage)
            response = self._post(bld, params, clock, usage)
            if _logged_out(response):
                log.info("KRX answered LOGOUT to %s: logging in again once", bld)
                self._login(clock, usage)
                response = self._post(bld, params, clock, usage)
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

    def _post(
        self, bld: str, params: Mapping[str, str], clock: Callable[[], datetime], usage: Usage
    ) -> httpx.Response:
        return self._send(bld, "POST", portal.JSON_PATH, clock, usage, data={**params, "bld": bld})


_SHARED: dict[tuple[SessionSettings, str], KRXSession] = {}
_SHARED_LOCK = threading.Lock()


def shared_session(settings: SessionSettings, credentials: KRXCredentials) -> KRXSession:
    """The process's session for these settings and credentials: one login per process, whatever the
    number of clients (a second login would end the first one's session on the portal)."""
    account = hashlib.sha256(
        f"{credentials.login_id.reveal()}\0{credentials.password.reveal()}".encode()
    ).hexdigest()
    with _SHARED_LOCK:
        session = _SHARED.get((settings, account))
        if session is None:
            session = _SHARED[(settings, account)] = KRXSession(settings, credentials)
        return session


@atexit.register
def close_shared_sessions() -> None:
    """Close every shared session (at exit, or between tests)."""
    with _SHARED_LOCK:
        sessions = list(_SHARED.values())
        _SHARED.clear()
    for session in sessions:
        session.close()


def _logged_out(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500 and response.text.strip() == portal.LOGGED_OUT_BODY
