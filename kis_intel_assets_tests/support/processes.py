"""Child processes of the tests: free loopback ports for them, the environment of one that uses the
embedded PostgreSQL, and waiting for what they should do within a deadline."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

WAIT_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nobody listens on right now (for a child that takes a fixed --port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def embedded_environment(home: Path) -> dict[str, str]:
    """A process environment that uses the embedded server under `home` (no configured database)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KIS_INTEL_DATABASE_URL", "DAGSTER_HOME")}
    return {**env, "KIS_INTEL_HOME": str(home)}


def wait_until(what: str, done: Callable[[], bool], timeout: float = WAIT_TIMEOUT_S) -> None:
    """Polls `done` until it holds; fails the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
