"""Senders: take the fairly chosen next request, send it to KIS inside one turn of the shared budget.

Each sender is a thread holding at most one limiter turn (kis/ratelimit.py, the same PostgreSQL slots the
Dagster assets use). The request goes out with the real token and key; everything else — method, path
(even `//uapi/...`), query string, body, the client's headers, and on the way back the status, headers
with their original spelling and the raw body — passes unchanged. An EGW00201 answer (HTTP 500 or 200)
is retried with backoff and never handed to the client unless every attempt got one; an expired real
token (EGW00123/EGW00121) is refreshed once through the shared store and the request repeated.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from kis_intel_assets.gateway.config import GatewaySettings
from kis_intel_assets.gateway.fair_queue import FairQueue
from kis_intel_assets.gateway.metrics import GatewayMetrics
from kis_intel_assets.kis.metrics import ClientMetrics
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.session import RATE_LIMITED, TOKEN_EXPIRED
from kis_intel_assets.kis.tokens import AccessToken, TokenProvider, app_key_hash

log = logging.getLogger(__name__)

HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
}
# httpx sets Host and Content-Length itself; the body is passed raw, so the reply keeps its Content-Length
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length"}
CREDENTIAL_HEADERS = {b"authorization", b"appkey", b"appsecret"}
RESERVE_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    headers: list[tuple[bytes, bytes]]  # names as upstream spelled them
    body: bytes


@dataclass
class PendingRequest:
    client: str
    tr_id: str
    method: str
    target: str  # raw path + "?" + raw query
    headers: list[tuple[bytes, bytes]]
    body: bytes
    deliver: Callable[[UpstreamReply | Exception], None]
    arrived: float = field(default_factory=time.monotonic)


class Upstream:
    """The real key's token, budget and connection pool, and the sender threads draining the queue."""

    def __init__(
        self, settings: GatewaySettings, queue: FairQueue[PendingRequest], metrics: GatewayMetrics
    ) -> None:
        config = settings.kis
        self._settings = settings
        self._queue = queue
        self._metrics = metrics
        self._limiter = PostgresRateLimiter(
            config.database_url.reveal(),
            app_key_hash(config.app_key),
            config.effective_rate_per_sec,
            lease_seconds=config.connect_timeout_seconds + config.read_timeout_seconds + 1.0,
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.read_timeout_seconds, connect=config.connect_timeout_seconds),
            limits=httpx.Limits(
                max_connections=settings.upstream_concurrency + 2,
                max_keepalive_connections=settings.upstream_concurrency + 2,
            ),
        )
        for name in ("Accept", "Accept-Encoding", "User-Agent"):  # send only what the client sent
            del self._http.headers[name]
        self._token_metrics = ClientMetrics()
        self._issuances_seen = 0
        self._issuances_lock = threading.Lock()
        self._tokens = TokenProvider(config, self._http, self._token_metrics, paced=self._limiter.turn)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"Upstream(base_url={self._settings.kis.base_url!r})"

    # -- token -----------------------------------------------------------------------------------------
    def token(self) -> AccessToken:
        """The shared real token (issued only when the store has no usable one)."""
        token = self._tokens.get()
        self._count_issuances()
        return token

    def _refresh(self, stale: AccessToken) -> AccessToken:
        token = self._tokens.refresh(stale)
        self._count_issuances()
        return token

    def _count_issuances(self) -> None:
        with self._issuances_lock:
            issued = self._token_metrics.token_issuances
            if issued != self._issuances_seen:
                self._metrics.token_issuances.inc(issued - self._issuances_seen)
                self._issuances_seen = issued

    def approval_key(self) -> UpstreamReply:
        """POST /oauth2/Approval with the real key and secret (websocket approval key), in one turn."""
        config = self._settings.kis
        body = {
            "grant_type": "client_credentials",
            "appkey": config.app_key.reveal(),
            "secretkey": config.app_secret.reveal(),
        }
        with self._limiter.turn():
            response = self._http.post(config.base_url + "/oauth2/Approval", json=body)
        return UpstreamReply(
            response.status_code,
            [
                (n, v)
                for n, v in response.headers.raw
                if n.lower() not in NOT_FORWARDED | {b"content-encoding"}
            ],
            response.content,
        )

    # -- senders ---------------------------------------------------------------------------------------
    def start(self) -> None:
        for number in range(self._settings.upstream_concurrency):
            thread = threading.Thread(target=self._run, name=f"kis-gateway-sender-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._queue.close()
        for thread in self._threads:
            thread.join(timeout=self._settings.kis.read_timeout_seconds + 5)
        self._http.close()
        self._limiter.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._queue.reserve(RESERVE_POLL_SECONDS):
                continue
            try:
                token = self.token()
            except Exception as exc:  # the request cannot be sent; its client gets the failure
                self._queue.pop().deliver(exc)
                continue
            self._serve(token)

    def _serve(self, token: AccessToken) -> None:
        item: PendingRequest | None = None
        refreshed = False
        rate_limited = 0
        while True:
            try:
                with self._limiter.turn():
                    if item is None:
                        item = self._queue.pop()
                        self._metrics.queue_wait.labels(item.client, item.tr_id).observe(
                            time.monotonic() - item.arrived
                        )
                    reply = self._send(item, token)
            except Exception as exc:  # transport error or the budget's database: the client gets a 502
                (item or self._queue.pop()).deliver(exc)
                return
            code = _error_code(reply)
            if code == RATE_LIMITED and rate_limited + 1 < self._settings.rate_limited_max_attempts:
                rate_limited += 1
                self._metrics.rate_limited.labels(item.client, item.tr_id).inc()
                self._metrics.retries.labels(item.client, item.tr_id, "egw00201").inc()
                time.sleep(self._backoff(rate_limited))
                continue
            if code in TOKEN_EXPIRED and not refreshed:
                refreshed = True
                self._metrics.retries.labels(item.client, item.tr_id, "token_expired").inc()
                try:
                    token = self._refresh(token)
                except Exception as exc:
                    item.deliver(exc)
                    return
                continue
            if code == RATE_LIMITED:
                self._metrics.rate_limited_passed.labels(item.client, item.tr_id).inc()
            item.deliver(reply)
            return

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._settings.backoff_cap_seconds, self._settings.backoff_base_seconds * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def _send(self, item: PendingRequest, token: AccessToken) -> UpstreamReply:
        config = self._settings.kis
        headers = [
            (name, value)
            for name, value in item.headers
            if name not in NOT_FORWARDED and name not in CREDENTIAL_HEADERS
        ]
        headers += [
            (b"authorization", f"Bearer {token.value.reveal()}".encode()),
            (b"appkey", config.app_key.reveal().encode()),
            (b"appsecret", config.app_secret.reveal().encode()),
        ]
        request = self._http.build_request(
            item.method, config.base_url + item.target, headers=headers, content=item.body
        )
        started = time.monotonic()
        response = self._http.send(request, stream=True)
        try:
            body = b"".join(response.iter_raw())
        finally:
            response.close()
        self._metrics.upstream_latency.labels(item.client, item.tr_id).observe(time.monotonic() - started)
        headers = [(n, v) for n, v in response.headers.raw if n.lower() not in HOP_BY_HOP]
        return UpstreamReply(response.status_code, headers, body)


def _error_code(reply: UpstreamReply) -> str:
    """msg_cd (or error_code) of an error envelope; "" for success and non-JSON bodies."""
    raw = reply.body
    encoding = next((v for n, v in reply.headers if n.lower() == b"content-encoding"), b"").strip().lower()
    try:
        if encoding in (b"gzip", b"deflate"):
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS if encoding == b"gzip" else zlib.MAX_WBITS)
        if not (b"EGW" in raw or reply.status != 200):
            return ""
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, zlib.error):
        return ""
    if not isinstance(body, dict) or body.get("rt_cd") == "0":
        return ""
    return str(body.get("msg_cd") or body.get("error_code") or "")
