"""The gateway's HTTP face: KIS's own protocol, answered locally for auth and forwarded for the rest.

- `POST /oauth2/tokenP`: a known local client gets a gateway token whose lifetime follows the shared real
  token (issued once per app key and validity period through the token store, whatever the number of
  clients, gateway processes and restarts). `POST /oauth2/revokeP` is acknowledged without revoking the
  shared token (other clients still use it). `POST /oauth2/Approval` (websocket approval key) is asked
  upstream once with the real key and secret and then answered from memory.
- `GET /metrics`: Prometheus text.
- Anything else: a known client with a valid gateway token is queued fairly and forwarded (upstream.py);
  anything else is refused with a KIS-style envelope and nothing is forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kis_intel_assets.gateway.auth import UNKNOWN_CLIENT, ClientDirectory, Refusal
from kis_intel_assets.gateway.config import GatewaySettings, LocalClient
from kis_intel_assets.gateway.fair_queue import FairQueue, LaneFull
from kis_intel_assets.gateway.metrics import GatewayMetrics
from kis_intel_assets.gateway.upstream import PendingRequest, Upstream, UpstreamReply

log = logging.getLogger(__name__)

KST = dt.timezone(dt.timedelta(hours=9))
APPROVAL_PATH = "/oauth2/Approval"
# KIS does not document how long an approval key lives (about a day by third-party reports: UNVERIFIED), so
# the gateway asks again after half of that.
APPROVAL_REUSE_SECONDS = 12 * 3600.0
# Gateway choices (not KIS codes), for failures only the gateway can have:
QUEUE_FULL = Refusal(500, "EGW00201", "초당 거래건수를 초과하였습니다 (this client's gateway queue is full)")
UPSTREAM_UNREACHABLE = Refusal(502, "KGW00502", "KIS에 연결할 수 없습니다 (upstream unreachable)")
BAD_TARGET = Refusal(400, "KGW00400", "요청 경로는 /로 시작해야 합니다 (request target must be a path)")
TOKEN_UNAVAILABLE = Refusal(
    503, "KGW00503", "요청을 보낼 수 없습니다 (real token or shared budget unavailable)"
)


def _json_reply(
    status: int, body: Mapping[str, object], extra: Sequence[tuple[bytes, bytes]] = ()
) -> Response:
    """A local answer with KIS's header spelling (the official samples trip over lowercase names)."""
    payload = json.dumps(body, ensure_ascii=False).encode()
    response = Response(payload, status)
    response.raw_headers = [
        (b"Content-Type", b"application/json; charset=UTF-8"),
        (b"Content-Length", str(len(payload)).encode()),
        *extra,
    ]
    return response


def _envelope(refusal: Refusal, tr_id: str) -> Response:
    body = {"rt_cd": "1", "msg_cd": refusal.msg_cd, "msg1": refusal.msg1}
    headers = [(b"tr_id", tr_id.encode()), (b"tr_cont", b""), (b"gt_uid", uuid.uuid4().hex.encode())]
    return _json_reply(refusal.http_status, body, headers)


def _oauth_error(refusal: Refusal) -> Response:
    return _json_reply(refusal.http_status, {"error_code": refusal.msg_cd, "error_description": refusal.msg1})


async def _json_body(request: Request) -> dict[str, object]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


class Gateway:
    """One gateway process: directory of clients, fair queue, upstream senders and metrics."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics(settings.class_names)
        self.queue: FairQueue[PendingRequest] = FairQueue(
            len(settings.class_names), settings.max_queued_per_client
        )
        self.directory = ClientDirectory(settings.clients, settings.kis.app_secret)
        self.upstream = Upstream(settings, self.queue, self.metrics)
        self.base_url = ""  # set once listening
        self.accepted = 0
        self.answered = 0
        self._counts = threading.Lock()
        self._approval: tuple[float, dict[str, object]] | None = None  # (asked at, KIS's answer)
        self._approval_lock = asyncio.Lock()
        self.asgi = Starlette(
            routes=[
                Route("/oauth2/tokenP", self.token, methods=["POST"]),
                Route("/oauth2/revokeP", self.revoke, methods=["POST"]),
                Route(APPROVAL_PATH, self.approval, methods=["POST"]),
                Route("/metrics", self.prometheus, methods=["GET"]),
                Route("/{path:path}", self.forward, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ],
            lifespan=self._lifespan,
        )

    def __repr__(self) -> str:
        return f"Gateway({len(self.settings.clients)} clients, upstream {self.settings.kis.base_url})"

    def uvicorn_config(self, host: str, port: int) -> uvicorn.Config:
        """h11, because it writes header names as given (httptools lowercases them); no Server/Date
        headers of our own, so KIS's pass through alone."""
        return uvicorn.Config(
            self.asgi,
            host=host,
            port=port,
            http="h11",
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=int(self.settings.shutdown_grace_seconds),
        )

    @property
    def in_flight(self) -> int:
        with self._counts:
            return self.accepted - self.answered

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self.upstream.start()
        try:
            yield
        finally:  # after uvicorn let every accepted request finish
            await asyncio.to_thread(self.upstream.stop)

    # -- auth endpoints ------------------------------------------------------------------------------
    def _client_from_body(self, body: dict[str, object], secret_field: str) -> LocalClient | None:
        client = self.directory.authenticate(str(body.get("appkey") or ""), str(body.get(secret_field) or ""))
        if client is None:
            self.metrics.refused.labels("unknown_client").inc()
        return client

    async def token(self, request: Request) -> Response:
        body = await _json_body(request)
        if body.get("grant_type") != "client_credentials":
            return _oauth_error(Refusal(403, "EGW00002", "grant_type must be client_credentials"))
        client = self._client_from_body(body, "appsecret")
        if client is None:
            return _oauth_error(UNKNOWN_CLIENT)
        try:
            real = await asyncio.to_thread(self.upstream.token)
        except Exception as exc:
            log.warning("real token unavailable: %s", type(exc).__name__)
            return _oauth_error(TOKEN_UNAVAILABLE)
        margin = dt.timedelta(seconds=self.settings.kis.token.expiry_margin_seconds)
        expires = real.expires_at - margin
        remaining = int((expires - dt.datetime.now(dt.UTC)).total_seconds())
        self.metrics.client_tokens.labels(client.name).inc()
        return _json_reply(
            200,
            {
                "access_token": self.directory.issue(client, int(expires.timestamp())),
                "token_type": "Bearer",
                "expires_in": max(remaining, 1),
                "access_token_token_expired": expires.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S"),
            },
        )

    async def revoke(self, request: Request) -> Response:
        if self._client_from_body(await _json_body(request), "appsecret") is None:
            return _oauth_error(UNKNOWN_CLIENT)
        return _json_reply(
            200, {"code": 200, "message": "접근토큰 폐기에 성공하였습니다 (shared token kept)"}
        )

    async def approval(self, request: Request) -> Response:
        body = await _json_body(request)
        if self._client_from_body(body, "secretkey") is None:
            return _oauth_error(UNKNOWN_CLIENT)
        async with self._approval_lock:
            if self._approval is None or time.monotonic() > self._approval[0] + APPROVAL_REUSE_SECONDS:
                try:
                    reply = await asyncio.to_thread(self.upstream.approval_key)
                    if reply.status != 200:
                        return _raw_reply(reply)
                    self._approval = (time.monotonic(), json.loads(reply.body))
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("approval key unavailable: %s", type(exc).__name__)
                    return _oauth_error(UPSTREAM_UNREACHABLE)
        return _json_reply(200, self._approval[1])

    async def prometheus(self, _: Request) -> Response:
        self.metrics.set_queue_depth(self.queue.depth())
        response = Response(self.metrics.render(), 200)
        response.raw_headers = [(b"Content-Type", b"text/plain; version=0.0.4; charset=utf-8")]
        return response

    # -- forwarding ----------------------------------------------------------------------------------
    async def forward(self, request: Request) -> Response:
        headers = request.headers
        tr_id = headers.get("tr_id", "")
        client = self.directory.authenticate_headers(headers)
        refusal = (
            UNKNOWN_CLIENT
            if client is None
            else self.directory.check(client, headers.get("authorization", ""))
        )
        if refusal is not None:
            self.metrics.refused.labels("unknown_client" if client is None else "token").inc()
            return _envelope(refusal, tr_id)
        assert client is not None
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        if not raw_path.startswith(b"/"):  # absolute-form or "@host" targets would leave the KIS host
            self.metrics.refused.labels("bad_target").inc()
            return _envelope(BAD_TARGET, tr_id)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[UpstreamReply | Exception] = loop.create_future()

        def deliver(result: UpstreamReply | Exception) -> None:
            def settle() -> None:  # on the event loop: the first result wins
                if not answer.done():
                    answer.set_result(result)

            loop.call_soon_threadsafe(settle)

        query = request.scope.get("query_string", b"")
        item = PendingRequest(
            client=client.name,
            tr_id=tr_id,
            method=request.method,
            target=raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""),
            headers=list(request.headers.raw),
            body=await request.body(),
            deliver=deliver,
        )
        with self._counts:
            self.accepted += 1
        self.metrics.in_flight.inc()
        try:
            try:
                self.queue.put(client.name, self.settings.priority_of(tr_id), item)
            except LaneFull:
                self.metrics.refused.labels("client_queue_full").inc()
                return _envelope(QUEUE_FULL, tr_id)
            result = await answer
            if isinstance(result, Exception):
                log.warning("upstream failed for %s %s: %s", client.name, tr_id, type(result).__name__)
                status = UPSTREAM_UNREACHABLE if isinstance(result, httpx.HTTPError) else TOKEN_UNAVAILABLE
                self.metrics.requests.labels(client.name, tr_id, str(status.http_status)).inc()
                return _envelope(status, tr_id)
            self.metrics.requests.labels(client.name, tr_id, str(result.status)).inc()
            return _raw_reply(result)
        finally:
            with self._counts:
                self.answered += 1
            self.metrics.in_flight.dec()


def _raw_reply(reply: UpstreamReply) -> Response:
    response = Response(reply.body, reply.status)
    response.raw_headers = list(reply.headers)
    if not any(name.lower() == b"content-length" for name, _ in reply.headers):
        response.raw_headers.append((b"Content-Length", str(len(reply.body)).encode()))
    return response
