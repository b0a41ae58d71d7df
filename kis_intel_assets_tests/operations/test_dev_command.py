"""The README's commands after the demo, run as printed: `kis-intel demo`, then the `kis-intel dev` line that
both the README (after `<!-- after-demo -->`) and the demo's "Next:" print.

As a newcomer would, with KIS_INTEL_DATABASE_URL unset (the embedded PostgreSQL) in a fresh
KIS_INTEL_HOME: the demo fills the database, `kis-intel dev` comes up, a daily partition is materialized
through the GraphQL mutation the UI's Materialize button sends (launchRun of the asset job with the
asset's checks and a `dagster/partition` tag) and succeeds the first time, and after SIGTERM no process of
the tree is left — checked by PID: the launcher, everything `dagster dev` started, the embedded
postmaster and its watchdog. The demo is small (`--symbols 8 --days 5`) and the ports free ones; both are
added as options to the printed command.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from kis_intel_assets.storage.embedded import server_pid, watchdog_pidfile
from kis_intel_assets_tests.support import REPO
from kis_intel_assets_tests.support.processes import embedded_environment, free_port, wait_until

BIN = Path(sys.executable).parent
DEMO_SIZE = ["--symbols", "8", "--days", "5"]
UP_TIMEOUT_S = 240.0
RUN_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 60.0
ASSET = "daily_prices"
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
JOB_AND_CHECKS = """
query Asset($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      jobNames
      repository { name location { name } }
      assetChecksOrError { ... on AssetChecks { checks { name } } }
    }
  }
}"""
RUN = """
query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }
"""
ROWS = """
query Rows($key: AssetKeyInput!, $partition: String!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetMaterializations(partitions: [$partition]) {
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}"""


def readme_after_demo_command() -> str:
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index("<!-- after-demo -->")
    assert lines[start + 1] == "```bash", "the after-demo marker must be followed by a bash block"
    return lines[start + 2].strip()


def as_run_here(command: str) -> list[str]:
    """A printed `.venv/bin/...` command, with this interpreter's bin folder (the test's cwd is a tmp dir)."""
    words = command.split()
    assert words[0].startswith(".venv/bin/"), command
    return [str(BIN / words[0].removeprefix(".venv/bin/")), *words[1:]]


def graphql(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, timeout=30).json()
    assert "errors" not in body, body
    return body["data"]


class Lines:
    """A child's stdout lines, read on a thread so waiting for one can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line.rstrip("\n"))

    def until(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        pytest.fail(f"no line matching {pattern!r} within {timeout:.0f}s; output:\n" + "\n".join(self.seen))


def tree(pid: int) -> set[int]:
    root = psutil.Process(pid)
    return {pid, *(child.pid for child in root.children(recursive=True))}


def alive(pids: set[int]) -> list[str]:
    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.timeout(600)
def test_the_commands_after_the_demo_run_as_printed_and_stop_with_nothing_left(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = embedded_environment(home)
    demo = subprocess.run(
        [str(BIN / "kis-intel"), "demo", *DEMO_SIZE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    printed = demo.stdout.rstrip().splitlines()[-1].strip()
    partition = re.search(r"trading days \S+\.\.(\S+)", demo.stdout)[1]  # the demo's newest day
    assert printed == " ".join([readme_after_demo_command(), *DEMO_SIZE]), printed

    ports = {"--dagster-port": free_port(), "--pages-port": free_port(), "--simulator-port": free_port()}
    command = as_run_here(printed) + [str(word) for pair in ports.items() for word in pair]
    started = time.monotonic()
    dev = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = Lines(dev)
        lines.until(r"is up after", UP_TIMEOUT_S)
        up_seconds = time.monotonic() - started
        dagster_url = lines.until(r"Dagster UI\s+(\S+)", 5)[1]
        pages_url = lines.until(r"pages\s+(\S+)", 5)[1]
        simulator_url = lines.until(r"KIS simulator\s+(\S+)", 5)[1]
        assert httpx.get(f"{dagster_url}/server_info", timeout=10).status_code == 200
        assert httpx.get(f"{pages_url}/sectors", timeout=30).status_code == 200
        assert httpx.get(f"{simulator_url}/common/master/kospi_code.mst.zip", timeout=10).status_code == 200

        key = {"path": [ASSET]}
        node = graphql(dagster_url, JOB_AND_CHECKS, {"key": key})["assetNodeOrError"]
        params = {
            "selector": {
                "repositoryLocationName": node["repository"]["location"]["name"],
                "repositoryName": node["repository"]["name"],
                "jobName": next(name for name in node["jobNames"] if name.startswith("__ASSET_JOB")),
                "assetSelection": [key],
                "assetCheckSelection": [
                    {"assetKey": key, "name": check["name"]} for check in node["assetChecksOrError"]["checks"]
                ],
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
            "runConfigData": {},
            "mode": "default",
        }
        launched = graphql(dagster_url, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status: dict[str, str] = {}

        def finished() -> bool:
            status.update(graphql(dagster_url, RUN, {"id": run_id})["runOrError"])
            return status["status"] in {"SUCCESS", "FAILURE", "CANCELED"}

        wait_until(f"run {run_id}", finished, RUN_TIMEOUT_S)
        assert status["status"] == "SUCCESS", (home / "dagster-dev.log").read_text()[-3000:]
        materialized = graphql(dagster_url, ROWS, {"key": key, "partition": partition})["assetNodeOrError"]
        rows = {
            e["label"]: e.get("intValue") for e in materialized["assetMaterializations"][0]["metadataEntries"]
        }
        assert rows["rows"] == 8, rows

        pgdata = home / "pgdata"
        pids = tree(dev.pid) | {server_pid(pgdata) or 0, int(watchdog_pidfile(pgdata).read_text())}
        assert len(pids) >= 6, pids  # launcher, dagster dev and its children, postmaster, watchdog
        stopping = time.monotonic()
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=STOP_TIMEOUT_S)
        lines.until(r"stopped in", 10)
        stop_seconds = time.monotonic() - stopping
        wait_until("every process to exit", lambda: not alive(pids), 10)
        assert dev.returncode == 0
        assert server_pid(pgdata) is None
        print(
            f"\nkis-intel dev: up in {up_seconds:.1f}s, stopped in {stop_seconds:.1f}s; "
            f"{len(pids)} processes, none left"
        )
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)

    # Another market than the one the database was filled from is refused before anything starts.
    other = subprocess.run(
        [*command, "--symbols", "9"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert other.returncode == 2 and "--symbols 8 --seed 7" in other.stderr, other.stderr
