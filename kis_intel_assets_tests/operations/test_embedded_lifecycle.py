"""The embedded PostgreSQL stops when its last user is gone, however that user ended.

Each holder is a real process that opens the embedded server the way every kis-intel process does
(`resolve_database_url` with KIS_INTEL_DATABASE_URL unset) and is then killed with SIGKILL, so no atexit
hook runs: the case where pgserver alone leaves the server running with parent PID 1 for good.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from kis_intel_assets.storage.embedded import HANDLE_FILE, server_pid, watchdog_pidfile
from kis_intel_assets_tests.support.processes import embedded_environment, free_port, wait_until

HOLDER = (
    "import time; from kis_intel_assets.storage import resolve_database_url; "
    "print(resolve_database_url(), flush=True); time.sleep(600)"
)


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[str], str]]]:
    started: list[subprocess.Popen[str]] = []

    def start() -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            env=embedded_environment(tmp_path),
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        return process, process.stdout.readline().strip()

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_server_stops_after_its_last_holder_is_killed(
    tmp_path: Path, holders: Callable[[], tuple[subprocess.Popen[str], str]]
) -> None:
    pgdata = tmp_path / "pgdata"
    first, url = holders()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    postmaster = server_pid(pgdata)
    watchdog = int(watchdog_pidfile(pgdata).read_text())
    assert postmaster and psutil.pid_exists(postmaster) and psutil.pid_exists(watchdog)
    second, second_url = holders()
    assert second_url == url and server_pid(pgdata) == postmaster, "the second holder joins the same server"
    assert int(watchdog_pidfile(pgdata).read_text()) == watchdog, "one watchdog per data folder"

    first.send_signal(signal.SIGKILL)
    first.wait()
    wait_until(
        "the dead holder to be pruned", lambda: json.loads((pgdata / HANDLE_FILE).read_text()) == [second.pid]
    )
    assert server_pid(pgdata) == postmaster, "a living holder keeps the server running"

    second.send_signal(signal.SIGKILL)
    second.wait()
    started = time.monotonic()
    wait_until("the postmaster to exit", lambda: not psutil.pid_exists(postmaster))
    wait_until("the watchdog to exit", lambda: not psutil.pid_exists(watchdog))
    print(f"\nserver stopped {time.monotonic() - started:.1f}s after its last holder was killed")
    assert server_pid(pgdata) is None
    assert json.loads((pgdata / HANDLE_FILE).read_text()) == []
    assert not watchdog_pidfile(pgdata).exists()

    # The next user starts it again, with a fresh watchdog.
    third, _ = holders()
    restarted = server_pid(pgdata)
    assert restarted not in (None, postmaster)
    third.kill()
    wait_until("the restarted server to stop", lambda: not psutil.pid_exists(restarted))


def test_kis_intel_serve_leaves_no_server_behind(tmp_path: Path) -> None:
    port = free_port()
    serve = subprocess.Popen(
        [str(Path(sys.executable).with_name("kis-intel")), "serve", "--port", str(port)],
        env=embedded_environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until("the pages to answer", lambda: _answers(f"http://127.0.0.1:{port}/sectors"), 60)
        pgdata = tmp_path / "pgdata"
        postmaster, watchdog = server_pid(pgdata), int(watchdog_pidfile(pgdata).read_text())
        assert postmaster and psutil.pid_exists(watchdog)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        wait_until(
            "the postmaster and watchdog to exit",
            lambda: not psutil.pid_exists(postmaster) and not psutil.pid_exists(watchdog),
        )
    finally:
        if serve.poll() is None:
            serve.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.TransportError:
        return False
