"""HTTP as KIS clients see it: capitalised standard header names and `//uapi/...` paths.

The official samples build a namedtuple from the response header names that are all lower case
(`x.islower()`), so KIS's own names must be `tr_id`, `tr_cont`, `gt_uid` while standard headers come
capitalised (`Content-Type`, `Content-Length`): a lower-case `content-length` is not a valid namedtuple
field and breaks every sample. Clients also join `base + "/" + path` with a leading slash in `path`, which
KIS evidently accepts, so repeated slashes are collapsed before routing.
"""

from __future__ import annotations

import re
from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


def kis_header_name(name: bytes) -> bytes:
    """`content-length` -> `Content-Length`; KIS's own names (with underscores) stay lower case."""
    if b"_" in name:
        return name
    return b"-".join(part.capitalize() for part in name.split(b"-"))


class KisWire:
    """ASGI middleware around the simulator's routes (uvicorn's own date/server headers are off)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if "//" in path:
            scope = {
                **scope,
                "path": _SLASHES.sub("/", path),
                "raw_path": _SLASHES.sub("/", scope.get("raw_path", b"").decode("latin-1")).encode(),
            }

        async def send_kis(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(kis_header_name(name), value) for name, value in message.get("headers", [])]
                if not any(name == b"Date" for name, _ in headers):  # the app's own follows its clock
                    headers.append((b"Date", formatdate(usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_kis)
