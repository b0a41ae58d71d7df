"""A throw-away PostgreSQL cluster of the tests' own, for faults that must never touch the shared server:
freezing it (SIGSTOP), restarting it mid-run. initdb/pg_ctl run as the `postgres` system user (PostgreSQL
refuses root) into a temporary folder, on a free loopback port; `stop()` removes every trace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from kis_intel_assets_tests.support.processes import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivateCluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._pg(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Stop (fast: every session is cut) and start again; `pg_ctl restart` would forget the log file and
        keep our output pipe open."""
        self.stop()
        self.start()

    def _postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def pids(self) -> list[int]:
        """The postmaster and every process it forked (backends, checkpointer, ...)."""
        postmaster = self._postmaster()
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of this cluster stopped (SIGSTOP) for the block: the kernel still accepts and
        acknowledges TCP, but nothing answers. The postmaster stops first, so it forks nothing after the
        children are listed; a child that exits meanwhile (an autovacuum worker, a backend) is skipped, and
        every process stopped is continued whatever happens."""
        stopped: list[int] = []

        def stop(pid: int) -> None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)

        try:
            stop(self._postmaster())
            for child in self.pids()[1:]:  # listed once the postmaster can fork no more
                stop(child)
            yield
        finally:
            for pid in stopped:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


def server_binaries_present() -> bool:
    return (PG_BIN / "initdb").exists()


@contextmanager
def running_private_cluster() -> Iterator[PrivateCluster]:
    """A fresh cluster, started; stopped and deleted on exit (the soak benchmark uses it outside pytest)."""
    folder = Path(tempfile.mkdtemp(prefix="kis-private-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    cluster = PrivateCluster(folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    if not server_binaries_present():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
    with running_private_cluster() as cluster:
        yield cluster
