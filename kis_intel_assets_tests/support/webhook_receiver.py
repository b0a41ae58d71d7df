"""A real HTTP server on loopback standing in for Slack and Discord: it records every request and answers
with scripted replies (429 with Retry-After, 500, 404 …) before falling back to the platform's success
answer.

It also keeps the messages each platform would show, with the platforms' idempotency rules: a Discord
webhook body with `nonce` and `enforce_nonce` whose nonce was seen before returns the first message and
creates none; the Slack bot's `chat.postMessage` keeps its metadata, which `conversations.history`
(GET, include_all_metadata) returns. A message counts as created when its request arrives, whether or not
the sender lives to read the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kis_intel_assets.background_server import serving_app


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Received:
    path: str
    query: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw.decode("utf-8"))


@dataclass(frozen=True)
class Shown:
    """A message as the platform shows it."""

    id: str
    body: dict[str, Any]


class WebhookReceiver:
    def __init__(self) -> None:
        self.base_url = ""
        self.delay_seconds = 0.0
        self.holding = False  # while True, answers wait (without blocking the server) until released
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._shown: dict[str, list[Shown]] = defaultdict(list)
        self._nonces: dict[tuple[str, str], Shown] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order."""
        with self._lock:
            self._scripts[path].extend(replies)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def shown(self, path: str) -> list[Shown]:
        """Messages the platform shows for `path` (a Discord webhook, or a Slack channel ID)."""
        with self._lock:
            return list(self._shown[path])

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._shown.clear()
            self._nonces.clear()
        self.delay_seconds = 0.0
        self.holding = False

    def _show(self, where: str, body: dict[str, Any]) -> Shown:
        """Create the message, or return the first one a repeated enforced nonce names (Discord)."""
        with self._lock:
            nonce = body.get("nonce")
            if (
                nonce is not None
                and body.get("enforce_nonce") is True
                and (where, str(nonce)) in self._nonces
            ):
                return self._nonces[(where, str(nonce))]
            shown = Shown(f"{time.time():.6f}", body)
            self._shown[where].append(shown)
            if nonce is not None:
                self._nonces[(where, str(nonce))] = shown
            return shown

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        path = request.url.path
        with self._lock:
            self._requests.append(Received(path, request.url.query, dict(request.headers), raw))
            scripted = self._scripts[path].popleft() if self._scripts[path] else None
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # blocks this server's loop on purpose: a slow platform
        if scripted is not None:
            if isinstance(scripted.body, (dict, list)):
                return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
            return PlainTextResponse(scripted.body or "", scripted.status, headers=scripted.headers)
        if path.endswith("/conversations.history"):
            return self._history(request)
        body = json.loads(raw.decode("utf-8")) if raw else {}
        if path.endswith("/chat.postMessage"):
            shown = self._show(str(body.get("channel", "")), body)
            answer: dict[str, Any] = {"ok": True, "channel": body.get("channel"), "ts": shown.id}
        elif "/api/webhooks/" in path:
            shown = self._show(path, body)
            answer = {"id": shown.id, "type": 0, "nonce": body.get("nonce")}
        else:
            self._show(path, body)
            answer = {}
        while self.holding:
            await asyncio.sleep(0.02)
        return JSONResponse(answer) if answer else PlainTextResponse("ok")

    def _history(self, request: Request) -> Response:
        channel = request.query_params.get("channel", "")
        oldest = float(request.query_params.get("oldest", "0"))
        with_metadata = request.query_params.get("include_all_metadata") == "true"
        messages = [
            {
                "type": "message",
                "ts": m.id,
                "text": m.body.get("text", ""),
                **({"metadata": m.body["metadata"]} if with_metadata and "metadata" in m.body else {}),
            }
            for m in reversed(self.shown(channel))
            if float(m.id) > oldest
        ]
        return JSONResponse({"ok": True, "messages": messages, "has_more": False})


@contextlib.contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving_app(receiver.app, "127.0.0.1", 0, "webhook receiver") as base_url:
        receiver.base_url = base_url
        yield receiver
