"""The acceptance run: three different clients hammer one gateway process while a Dagster ingest run uses
the same app key directly, and the gateway is restarted in the middle. The only long test of the folder."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kis_intel_assets.kis import KISConfig
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets_tests.gateway.load_clients import (
    RESTART_TOLERANT,
    httpx_loop,
    product_client,
    restarting_client,
)
from kis_intel_assets_tests.support.gateway import LOCAL_CLIENTS, PRICE_TR, REAL_SECRET, clients_toml
from kis_intel_assets_tests.support.processes import free_port
from kis_intel_assets_tests.support.simulators import dagster_materialize_command, simulator_environment

LOAD_SECONDS = 30.0  # at least; longer when a loaded machine makes the restart slow
RESTART_AFTER_SECONDS = 11.0
AFTER_RESTART_SECONDS = 6.0
LIMIT = 20
REAL_KEY = "PSgatewayLoadRealKey"


class GatewayProcess:
    """`kis-intel gateway` as a user runs it, configured through the environment; output kept."""

    def __init__(self, port: int, env: dict[str, str], clients_file: Path) -> None:
        self.output: list[str] = []
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kis_intel_assets.cli",
                "gateway",
                "--port",
                str(port),
                "--clients",
                str(clients_file),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while not self._listening():
            assert self._process.poll() is None, "\n".join(self.output)
            assert time.monotonic() < deadline, "gateway did not start:\n" + "\n".join(self.output)
            time.sleep(0.05)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line.rstrip())

    def _listening(self) -> bool:
        return any(line.startswith("KIS gateway serving") for line in self.output)

    def stop(self) -> list[str]:
        """SIGTERM, as a service manager restarts it; returns everything it printed."""
        self._process.send_signal(signal.SIGTERM)
        assert self._process.wait(timeout=60) == 0, "\n".join(self.output)
        self._reader.join(timeout=10)
        return self.output


@pytest.fixture
def load_sim() -> Iterator[Simulator]:
    """KIS as it behaves: 20 requests/s per key, one token issuance per minute; 60 stocks."""
    config = SimulatorConfig(
        seed=11, n_symbols=60, start=dt.date(2025, 1, 2), end=dt.date(2025, 3, 31), rate_limit_per_sec=LIMIT
    )
    with running_simulator(config) as sim:
        yield sim


def window_counts(stamps: list[float], start: float, end: float) -> int:
    return sum(start <= t < end for t in stamps)


def test_three_clients_and_a_dagster_run_share_one_token_and_one_budget_across_a_restart(
    load_sim: Simulator, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = simulator_environment(load_sim, database_url, REAL_KEY, REAL_SECRET, LIMIT)
    clients_file = clients_toml(tmp_path / "clients.toml")
    gateway = GatewayProcess(port, env, clients_file)

    symbols = load_sim.truth.symbols()
    key, secret = LOCAL_CLIENTS["bot"]
    product_config = KISConfig(
        app_key=key, app_secret=secret, database_url=database_url, base_url=base_url, retry=RESTART_TOLERANT
    )
    ctx = multiprocessing.get_context("spawn")
    start, stop, results = ctx.Barrier(4), ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=product_client, args=(product_config, symbols, start, stop, results)),
        ctx.Process(target=httpx_loop, args=(base_url, symbols, start, stop, results)),
        ctx.Process(target=restarting_client, args=(base_url, symbols, start, stop, results)),
    ]
    for worker in workers:
        worker.start()
    start.wait(timeout=120)
    began, began_monotonic = time.time(), time.monotonic()
    dagster_log = tmp_path / "dagster.log"
    with dagster_log.open("w") as log:  # a file, not a pipe nobody reads while it runs
        dagster = subprocess.Popen(
            dagster_materialize_command("stock_universe"), env=env, stdout=log, stderr=subprocess.STDOUT
        )

    time.sleep(RESTART_AFTER_SECONDS)
    restart_at = time.time()
    successor = GatewayProcess(port, env, clients_file)  # binds the same port (SO_REUSEPORT)
    back_at = time.time()
    first_output = gateway.stop()
    stopped_at = time.time()
    gateway = successor
    time.sleep(max(0.0, began + LOAD_SECONDS - time.time(), stopped_at + AFTER_RESTART_SECONDS - time.time()))
    dagster.wait(timeout=180)  # the clients keep hammering until the direct run is done too
    stop.set()
    load_seconds = time.time() - began
    reports = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    ended_monotonic = time.monotonic()
    gateway.stop()

    # The Dagster run went direct, on the same key, entirely during the load.
    assert dagster.returncode == 0, dagster_log.read_text()[-3000:]
    served = load_sim.stats.requests(REAL_KEY)
    direct = [r for r in served if r.tr_id == "CTPF1002R"]
    assert len(direct) == len(symbols)
    assert all(began_monotonic < r.arrival < ended_monotonic for r in direct)

    busiest = load_sim.stats.max_requests_in_window(REAL_KEY)
    per_client = {name: len(report["answered"]) for name, report in reports.items()}
    fair_window = (began + 3.0, restart_at - 0.5)
    shares = {name: window_counts(r["answered"], *fair_window) for name, r in reports.items()}
    rates = {name: round(count / (fair_window[1] - fair_window[0]), 2) for name, count in shares.items()}
    stopping_line = next(line for line in first_output if "stopping" in line)
    drained_line = next(line for line in first_output if "accepted" in line)
    print(
        f"\nsimulator: {len(served)} requests on the real key ({len(direct)} direct from Dagster), busiest "
        f"1-s window {busiest}/{LIMIT}; token issuances {load_sim.stats.token_issuances(REAL_KEY)}; "
        f"EGW00201 upstream {sum(r.msg_cd == 'EGW00201' for r in served)}"
    )
    print(
        f"answered per client over {load_seconds:.1f} s: {per_client}; fair window "
        f"{fair_window[1] - fair_window[0]:.1f} s: {shares} = {rates} req/s"
    )
    print(
        f"restart: successor listening after {back_at - restart_at:.1f} s, then {stopping_line!r} / "
        f"{drained_line!r} after {stopped_at - back_at:.1f} s more"
    )
    print("client events:", {name: report["counts"] for name, report in reports.items()})

    assert busiest <= LIMIT
    assert load_sim.stats.token_issuances(REAL_KEY) == 1 and load_sim.stats.token_refusals(REAL_KEY) == 0
    assert all(load_sim.stats.token_issuances(local_key) == 0 for local_key, _ in LOCAL_CLIENTS.values())
    for name, report in reports.items():
        failures = {
            k: v
            for k, v in report["counts"].items()
            if k not in ("token_request",) and not k.startswith("retried ") and k != "connection_error"
        }
        assert failures == {}, f"{name} saw {failures}"  # no EGW00201, no lost answer, no other error
    assert reports["bot"]["client_metrics"]["retries"].get("rate_limited", 0) == 0
    assert reports["samples"]["counts"]["token_request"] >= 8  # it really issued its own tokens repeatedly
    assert min(shares.values()) >= 0.75 * max(shares.values()), shares
    assert min(shares.values()) > 20

    # The restart: requests in flight when the stop came were answered before the process exited.
    in_flight = int(stopping_line.split("stopping, ")[1].split(" ")[0])
    accepted, answered = (int(part.split(" ")[-1]) for part in drained_line.split(";")[1].split(","))
    assert in_flight > 0 and accepted == answered > 0
    assert all(
        window_counts(r["answered"], stopped_at, stopped_at + AFTER_RESTART_SECONDS) > 0
        for r in reports.values()
    )  # the successor serves everyone
    assert all(r.tr_id in (PRICE_TR, "CTPF1002R") for r in served)
