"""An ASGI server on a daemon thread for the length of a `with` block: the in-process simulator, the
pages in tests and benchmarks, and the tests' webhook receiver all run this way."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_SECONDS = 30.0


@contextlib.contextmanager
def serving_in_thread(config: uvicorn.Config, name: str) -> Iterator[int]:
    """Starts the server, yields the port it bound (config port 0 = a free one), stops it on exit."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} failed to start on {config.host}:{config.port}")
            time.sleep(0.01)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serving_app(app: ASGIApp, host: str, port: int, name: str, **options: Any) -> Iterator[str]:
    """A quiet in-process server for one ASGI app (no lifespan, warnings only, no access log; more uvicorn
    options as keywords); yields the base URL it serves on (port 0 = a free one)."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_level="warning", access_log=False, **options
    )
    with serving_in_thread(config, name) as bound_port:
        yield f"http://{host}:{bound_port}"
