"""`kis-intel dev`: a living local system in one command, stopped by one Ctrl-C or SIGTERM.

It serves the demo's simulated market (the seed, universe and dates the demo recorded in KIS_INTEL_HOME,
so what the demo stored matches what the simulator answers, on any later day too), starts `dagster dev`
with everything a run needs (absolute DAGSTER_HOME, app key, base URLs, database) and the pages, prints
the three URLs and waits. Stopping takes the whole tree down: `dagster dev` runs in a session of its own
(a background job of a non-interactive shell ignores SIGINT, and Dagster maps SIGTERM onto the same
handler, so it must not inherit ours), gets SIGTERM, and whatever of its process group outlives a grace
period is killed; then the pages, the simulator and this process's hold on the embedded PostgreSQL end,
which stops the server when nothing else uses it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import httpx
import psutil

from kis_intel_assets.background_server import serving_app
from kis_intel_assets.defs.ingest.universe import listed_symbols
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.demo import (
    DEMO_APP_KEY,
    DEMO_APP_SECRET,
    DemoGraph,
    demo_resources,
    demo_window,
    ensure_dagster_home,
    last_final_day,
    load_market,
    market_file,
    save_market,
    simulator_config,
)
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.pages.app import create_app
from kis_intel_assets.settings import (
    DATABASE_URL_ENV,
    HOME_ENV,
    database_url,
    process_environment,
    project_home,
)
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.storage import connect, migrate, resolve_database_url
from kis_intel_assets.storage.embedded import release

READY_TIMEOUT_S = 240.0
STOP_GRACE_S = 20.0
DAGSTER = Path(sys.executable).with_name("dagster")


@dataclass(frozen=True)
class DevSettings:
    symbols: int
    days: int
    seed: int
    rate_limit: float
    host: str
    dagster_port: int
    pages_port: int
    simulator_port: int


def run_dev(settings: DevSettings) -> int:
    started = time.monotonic()
    stopping: float | None = None
    stop = _stop_on_signals()
    dagster_home = ensure_dagster_home()
    embedded = not database_url()
    config = _market(settings)
    try:
        url = resolve_database_url()
        migrate(url)
        with running_simulator(config, settings.host, settings.simulator_port) as simulator:
            _ensure_universe(url, simulator, settings.rate_limit)
            pages_url = f"http://{settings.host}:{settings.pages_port}"
            dagster_url = f"http://{settings.host}:{settings.dagster_port}"
            env = {
                **process_environment(),
                "DAGSTER_HOME": str(dagster_home),
                HOME_ENV: str(project_home()),
                DATABASE_URL_ENV: url,  # the children use this server; this process holds it open
                "KIS_APP_KEY": DEMO_APP_KEY,
                "KIS_APP_SECRET": DEMO_APP_SECRET,
                "KIS_BASE_URL": simulator.base_url,
                "KIS_MASTER_BASE_URL": simulator.master_base_url,
                "KIS_RATE_LIMIT_PER_SEC": f"{settings.rate_limit:g}",
                "DAGSTER_WEBSERVER_URL": dagster_url,
                "KIS_INTEL_PAGES_URL": pages_url,
            }
            pages = serving_app(
                create_app(url),
                settings.host,
                settings.pages_port,
                "kis-intel pages",
                timeout_graceful_shutdown=2,
            )
            log = project_home() / "dagster-dev.log"
            with pages, _dagster_dev(settings, env, log) as dagster:
                _wait_until_ready(dagster, f"{dagster_url}/server_info", log, stop)
                if stop.is_set():
                    return 0
                print(
                    f"kis-intel dev is up after {time.monotonic() - started:.1f}s "
                    f"({config.n_symbols} simulated stocks, market {config.start}..{config.end_date}):\n"
                    f"  Dagster UI     {dagster_url}   (log: {log})\n"
                    f"  pages          {pages_url}\n"
                    f"  KIS simulator  {simulator.base_url}\n"
                    "Ctrl-C or SIGTERM stops all of it.",
                    flush=True,
                )
                while not stop.wait(0.5):
                    if dagster.poll() is not None:
                        print(f"dagster dev exited ({dagster.returncode}); see {log}", file=sys.stderr)
                        return 1
                stopping = time.monotonic()
                print("stopping…", flush=True)
    finally:
        if embedded:
            release(project_home() / "pgdata")
    if stopping is not None:
        print(f"stopped in {time.monotonic() - stopping:.1f}s", flush=True)
    return 0


def _market(settings: DevSettings) -> SimulatorConfig:
    """The market the demo recorded in KIS_INTEL_HOME (the data in the database came from it), else the
    demo's market for today, recorded so that later starts serve the same one."""
    market = load_market(settings.rate_limit)
    if market is None:
        now = datetime.now(SEOUL)
        window = demo_window(settings.days, last_final_day(now))
        market = simulator_config(settings.symbols, window, settings.seed, settings.rate_limit, now.date())
        save_market(market)
    elif (market.n_symbols, market.seed) != (settings.symbols, settings.seed):
        raise ConfigurationError(
            f"{market_file()} records the market of the data in this database (--symbols {market.n_symbols} "
            f"--seed {market.seed}), not --symbols {settings.symbols} --seed {settings.seed}: start "
            "`kis-intel dev` with the demo's options, or run `kis-intel demo` again with the new ones"
        )
    return market


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _ensure_universe(url: str, simulator: Simulator, rate_limit: float) -> None:
    """Load stock_master from the simulator when it is empty; refuse a universe the simulator lacks."""
    with connect(url) as conn:
        stored = set(listed_symbols(conn))
    served = set(simulator.truth.symbols())
    unknown = sorted(stored - served)
    if unknown:
        raise ConfigurationError(
            f"stock_master lists {len(unknown)} stocks this simulator does not serve (e.g. {unknown[:3]}): "
            "start `kis-intel dev` with the --symbols/--days/--seed of the demo that filled the database"
        )
    if not stored:
        print("stock_master is empty: loading the simulator's universe first", flush=True)
        graph = DemoGraph(dg.DagsterInstance.get())
        graph.resources = demo_resources(url, simulator, rate_limit)
        graph.run(["stock_universe"])


@contextmanager
def _dagster_dev(
    settings: DevSettings, env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster dev` in its own session; on exit SIGTERM to its group, SIGKILL to what outlives the grace."""
    command = [
        str(DAGSTER),
        "dev",
        "-m",
        "kis_intel_assets.definitions",
        "-h",
        settings.host,
        "-p",
        str(settings.dagster_port),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process_group(process.pid, STOP_GRACE_S)
        process.wait()


def process_group(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def stop_process_group(pgid: int, grace: float) -> None:
    """SIGTERM to every member of the group; SIGKILL to any still alive after `grace` seconds."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while process_group(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not process_group(pgid):
            return


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path, stop: threading.Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stop.is_set():
        if process.poll() is not None:
            raise ConfigurationError(f"dagster dev exited ({process.returncode}) while starting; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"dagster dev did not answer {url} within {READY_TIMEOUT_S:.0f}s; see {log}"
            )
        stop.wait(0.5)
