"""`dagster dev` on the deployment's own instance configuration (deploy/dagster.yaml: PostgreSQL storage,
run queue, pools) as the operations tests run it: started in its own process group on a free port, driven
through GraphQL, stopped by SIGTERM with nothing allowed to outlive it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.support import REPO
from kis_intel_assets_tests.support.processes import free_port

DAGSTER = Path(sys.executable).with_name("dagster")
STARTUP_TIMEOUT_S = 90.0
SHUTDOWN_TIMEOUT_S = 30.0
# A code server that is busy when SIGTERM lands can outlive `dagster dev`; Dagster's own backstop is the
# heartbeat: the code server exits 45 s after its last heartbeat, its gRPC child 30 s after the code server.
ORPHAN_EXIT_TIMEOUT_S = 90.0


@dataclass
class DagsterDev:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    simulator: Simulator

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, f"{body}\n{self.log_tail()}"
        return body["data"]

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                pytest.fail(
                    f"dagster dev exited ({self.process.returncode}) while waiting for {what}\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tail()}")
            time.sleep(1.0)


def dagster_storage_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables deploy/dagster.yaml reads, for a postgresql:// URL.

    A Unix-socket URL (the embedded test server: `postgresql://postgres:@/db?host=/dir`) leaves the
    host blank and names the socket folder in PGHOST, which libpq (psycopg2) falls back to.
    """
    parts = urlsplit(url)
    socket_dir = dict(parse_qsl(parts.query)).get("host", "")
    return {
        "DAGSTER_PG_HOST": parts.hostname or "",
        **({"PGHOST": socket_dir} if socket_dir and not parts.hostname else {}),
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": parts.username or "postgres",
        "DAGSTER_PG_PASSWORD": parts.password or "",
        "DAGSTER_PG_DB": parts.path.lstrip("/"),
    }


def process_group_members(pgid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-a", "-g", str(pgid)], capture_output=True, text=True, check=False)
    return found.stdout.splitlines()


def stop(dev: DagsterDev) -> list[str]:
    """SIGTERM to the whole process group, then report anything still alive (and kill it)."""
    pgid = dev.process.pid
    if dev.process.poll() is None:
        os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            dev.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    deadline = time.monotonic() + ORPHAN_EXIT_TIMEOUT_S
    while process_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    leftovers = process_group_members(pgid)
    if leftovers:
        os.killpg(pgid, signal.SIGKILL)
    return leftovers


def dagster_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME on the deployment's own instance configuration (deploy/dagster.yaml)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


@contextlib.contextmanager
def running_dagster_dev(tmp_path: Path, sim: Simulator, env: dict[str, str]) -> Iterator[DagsterDev]:
    """`dagster dev` (webserver + daemon) on a free port; stopped by SIGTERM, nothing may outlive it."""
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", "kis_intel_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = DagsterDev(process, f"http://127.0.0.1:{port}", log, sim)
    try:
        yield dev
    finally:
        leftovers = stop(dev)
    assert not leftovers, f"processes left after SIGTERM: {leftovers}\n{dev.log_tail()}"


def server_up(dev: DagsterDev) -> bool:
    try:
        return httpx.get(f"{dev.url}/server_info", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
