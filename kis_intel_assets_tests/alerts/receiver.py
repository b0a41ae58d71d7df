"""A real HTTP server on loopback standing in for Slack and Discord: it records every request and answers
with scripted replies (429 with Retry-After, 500, 404 …) before falling back to the platform's success
answer."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kis_intel_assets.background_server import serving_in_thread


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


class WebhookReceiver:
    def __init__(self) -> None:
        self.base_url = ""
        self.delay_seconds = 0.0
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order."""
        with self._lock:
            self._scripts[path].extend(replies)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
        self.delay_seconds = 0.0

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
        if path.endswith("/chat.postMessage"):
            return JSONResponse({"ok": True, "ts": f"{time.time():.6f}"})
        if "/api/webhooks/" in path:
            return JSONResponse({"id": str(time.time_ns()), "type": 0})
        return PlainTextResponse("ok")


@contextlib.contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    config = uvicorn.Config(
        receiver.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False
    )
    with serving_in_thread(config, "webhook receiver") as port:
        receiver.base_url = f"http://127.0.0.1:{port}"
        yield receiver
