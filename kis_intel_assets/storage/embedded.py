"""The embedded PostgreSQL's lifecycle: it runs while a process uses it and stops when the last one leaves.

pgserver lists every process that opened the server in `PGDATA/.handle_pids.json` and stops the server
in the atexit hook of the last one. A process that dies from a signal never runs that hook — Dagster's
code servers, run workers and webserver on SIGTERM, anything on SIGKILL — so its PID stays listed and the
server keeps running, re-parented to PID 1, for every later run too. Two repairs:

- whoever opens the server first prunes the PIDs that are no longer alive;
- one watchdog process per data folder (`python -m kis_intel_assets.storage.embedded PGDATA`, in its
  own session so no terminal signal reaches it) prunes the list every second and stops the server once
  no listed process is alive, then exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil

# pgserver (pinned at 0.1.4) has no public API for its holder list, its inter-process lock or pg_ctl; these
# are the module-level names it uses itself, so the pruning below takes the same lock as its own start/stop.
with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); pgserver then uses /tmp.
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # set on the module at import
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, PostmasterInfo

HANDLE_FILE = ".handle_pids.json"  # pgserver's list of the processes holding the server open
WATCH_INTERVAL_S = 1.0
# pgserver runs the server as this system user when started by root (as it does on CI machines).
ROOT_SYSTEM_USER = "pgserver"


def open_server(pgdata: Path) -> PostgresServer:
    """Start or join the embedded server in `pgdata`, with dead holders pruned and a watchdog running."""
    if (pgdata / HANDLE_FILE).exists():
        with PostgresServer._lock:
            living_holders(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    ensure_watchdog(pgdata)
    return server


def release(pgdata: Path, timeout: float = 30.0) -> None:
    """Give up this process's hold now (not at exit); when it was the last, wait until the server and the
    watchdog are gone, so a caller that says "stopped" has stopped everything."""
    server = PostgresServer._instances.get(pgdata.resolve())
    if server is None:
        return
    with PostgresServer._lock:
        living_holders(pgdata)
    server.cleanup()
    pidfile = watchdog_pidfile(pgdata)
    deadline = time.monotonic() + timeout
    with PostgresServer._lock:
        last = not living_holders(pgdata)
    while last and (server_pid(pgdata) or pidfile.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)


def living_holders(pgdata: Path) -> list[int]:
    """The listed PIDs that are still alive; the dead ones are removed from the list (call under the lock)."""
    handles = DiskList(pgdata / HANDLE_FILE)
    listed = handles.get()
    alive = [pid for pid in listed if _alive(pid)]
    if alive != listed:
        handles.put(alive)
    return alive


def server_pid(pgdata: Path) -> int | None:
    """The postmaster's PID while the server in `pgdata` runs, else None."""
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info.pid if info is not None and info.is_running() else None


def stop_if_unused(pgdata: Path) -> bool:
    """Stop the server when no listed process is alive; True once it is not running."""
    with PostgresServer._lock:
        if living_holders(pgdata):
            return False
        if server_pid(pgdata) is not None:
            user = ROOT_SYSTEM_USER if os.geteuid() == 0 else None
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    return True


def watchdog_pidfile(pgdata: Path) -> Path:
    return pgdata.with_name(pgdata.name + ".watchdog.pid")


def ensure_watchdog(pgdata: Path) -> int:
    """The PID of the data folder's watchdog, started now unless one is already watching."""
    pidfile = watchdog_pidfile(pgdata)
    with PostgresServer._lock:
        if pidfile.exists():
            pid = int(pidfile.read_text().strip() or 0)
            if pid and _alive(pid):
                return pid
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(pgdata)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        pidfile.write_text(str(process.pid))
    return process.pid


def watch(pgdata: Path) -> None:
    """The watchdog's loop: stop the server after its last holder is gone, then exit."""
    try:
        while not stop_if_unused(pgdata):
            time.sleep(WATCH_INTERVAL_S)
    finally:
        pidfile = watchdog_pidfile(pgdata)
        if pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


if __name__ == "__main__":
    watch(Path(sys.argv[1]))
