"""`kis-intel demo`: the whole pipeline end to end on this machine, against the local KIS simulator.

The simulator runs in-process on loopback beside a KRX portal simulator over the same market (logged in
with its demo account: the short-selling balance for every day already published at T+3, and KRX's
investor flows reconciled with KIS's), the market data goes to the embedded PostgreSQL (or
KIS_INTEL_DATABASE_URL), and every run is recorded in a persistent DAGSTER_HOME so `dagster dev`
afterwards shows the same materializations, checks and lineage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

from kis_intel_assets.alerts import collect_alerts, deliver_pending
from kis_intel_assets.analytics import SECTOR_FLOW_LOOKBACK_DAYS, RotationConfig
from kis_intel_assets.defs.krx.checks import krx_checks
from kis_intel_assets.defs.partitions import SEOUL, partition_start
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.krx.client import MAX_REQUESTS_PER_SECOND as KRX_DEMO_RATE
from kis_intel_assets.krx.publication import INVESTOR_FLOWS, SHORT_BALANCE, PublicationGates
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.settings import dagster_home, project_home, use_dagster_home
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.krx_app import DEFAULT_ACCOUNTS as KRX_DEMO_ACCOUNTS
from kis_intel_assets.simulator.krx_app import KRXSimSettings
from kis_intel_assets.simulator.krx_server import KRXSimulator, running_krx_simulator
from kis_intel_assets.storage import connect, migrate, redact_url, resolve_database_url

INGEST = ["daily_prices", "investor_trends", "short_selling", "program_trading", "stock_lending"]
ROTATION = RotationConfig()
DEMO_APP_KEY = "demo-app-key"
DEMO_APP_SECRET = "demo-app-secret"
SUMMARY_TABLES = (
    "stock_master",
    "daily_prices",
    "investor_trends",
    "short_selling",
    "program_trading",
    "program_trading_market",
    "short_balance",
    "krx_investor_flows",
    "stock_mfi",
    "sector_rotation",
    "rotation_signal",
    "rotation_transition",
    "rotation_scorecard",
    "short_overheat",
    "overheat_candidates",
    "concentrated_buying",
    "short_overheat_designations",
)
FINAL_HOUR_KST = 16
MARKET_FILE = "simulated-market.json"  # under KIS_INTEL_HOME
DEFAULT_SYMBOLS, DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_RATE_LIMIT = 300, 160, 7, 100.0
KRX_FLOW_DAYS = 10  # days of KRX investor flows reconciled with KIS's (24 portal requests a day)


def ensure_dagster_home() -> Path:
    """A persistent DAGSTER_HOME (SQLite) so the demo's runs stay visible in `dagster dev`."""
    home = (dagster_home() or project_home() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    use_dagster_home(home)
    return home


def last_final_day(now: datetime) -> date:
    """The newest day whose investor data KIS has finalised (about 15:40 KST; 16:00 to be safe)."""
    kst = now.astimezone(SEOUL)
    return kst.date() if kst.hour >= FINAL_HOUR_KST else kst.date() - timedelta(days=1)


def demo_window(days: int, last_day: date) -> list[date]:
    history = trading_days(last_day - timedelta(days=max(days * 2, 10) + 30), last_day)
    window = history[-days:]
    earliest = partition_start()
    if window[0] < earliest:
        raise ConfigurationError(
            f"--days {days} reaches back to {window[0]}, before KIS_INTEL_PARTITION_START ({earliest})"
        )
    return window


@contextmanager
def step(label: str) -> Iterator[None]:
    """One line per step with its duration: enough to see where a slow demo spends its time."""
    started = time.monotonic()
    print(f"  … {label}", flush=True)
    try:
        yield
    except BaseException:
        print(f"  ✗ {label}: failed after {time.monotonic() - started:.1f}s", flush=True)
        raise
    print(f"  ✓ {label}: {time.monotonic() - started:.1f}s", flush=True)


def run_demo(*, symbols: int, days: int, seed: int, rate_limit: float) -> int:
    started = time.monotonic()
    ensure_dagster_home()
    today = datetime.now(SEOUL).date()
    window = demo_window(days, last_final_day(datetime.now(SEOUL)))
    print(f"kis-intel demo: {symbols} simulated stocks, {len(window)} trading days {window[0]}..{window[-1]}")

    with step("database"):
        url = resolve_database_url()
        migrate(url)
    graph = DemoGraph(dg.DagsterInstance.get())
    market = simulator_config(symbols, window, seed, rate_limit, today)
    save_market(market)
    # The demo's portal serves one client as fast as it asks: no block after N requests.
    portal = KRXSimSettings(block_after_requests=1_000_000)
    with running_simulator(market) as simulator, running_krx_simulator(simulator.model, portal) as krx_sim:
        print(
            f"  KIS simulator listening on {simulator.base_url}, KRX portal simulator on {krx_sim.base_url}"
        )
        graph.resources = demo_resources(url, simulator, rate_limit, krx_sim)
        with step("stock_universe (master files + 주식기본조회 per stock)"):
            graph.run(["stock_universe"])
        with step(f"{', '.join(INGEST)} (one backfill run)"):
            graph.run(INGEST, window, checks=True)
        official_day = simulator.model.master_day().astype(date)  # a master file tells only its own day
        with step(f"short_overheat_designations (official list of {official_day} from the master files)"):
            graph.run(["short_overheat_designations"], [official_day])
        run_krx(graph, window)
        requests = len(simulator.stats.requests())
        print(f"    {krx_sim.stats.total()} KRX portal requests")
    if run_analytics(graph, window):
        with step("alerts (outbox, then the configured channels; console when none is)"):
            queued = collect_alerts(url)
            print(f"    {queued} alert(s) queued; {deliver_pending(url).summary()}")
    _summary(url, requests, time.monotonic() - started, dev_command(symbols, days, seed, rate_limit))
    return 0


def simulator_config(
    symbols: int, window: Sequence[date], seed: int, rate_limit: float, today: date
) -> SimulatorConfig:
    """The demo's market; `kis-intel dev` serves the same one, so the stored universe and data match."""
    return SimulatorConfig(
        seed=seed,
        n_symbols=symbols,
        start=window[0] - timedelta(days=30),  # a little history before the first ingested day
        end=today,
        rate_limit_per_sec=rate_limit,
    )


def market_file() -> Path:
    return project_home() / MARKET_FILE


def save_market(config: SimulatorConfig) -> None:
    """Record the simulated market the database was filled from, for `kis-intel dev` to serve again."""
    market_file().parent.mkdir(parents=True, exist_ok=True)
    market_file().write_text(
        json.dumps(
            {
                "seed": config.seed,
                "n_symbols": config.n_symbols,
                "start": config.start.isoformat(),
                "end": config.end_date.isoformat(),
            }
        )
    )


def load_market(rate_limit: float) -> SimulatorConfig | None:
    """The recorded market, or None. Its universe and prices depend on its dates as well as its seed, so
    a later day must serve the recorded dates, not a window recomputed from today."""
    if not market_file().exists():
        return None
    market = json.loads(market_file().read_text())
    return SimulatorConfig(
        seed=market["seed"],
        n_symbols=market["n_symbols"],
        start=date.fromisoformat(market["start"]),
        end=date.fromisoformat(market["end"]),
        rate_limit_per_sec=rate_limit,
    )


def demo_resources(
    url: str, simulator: Simulator, rate_limit: float, krx_simulator: KRXSimulator | None = None
) -> dict[str, object]:
    """The demo's resources; with a KRX portal simulator, KRX is configured with its demo account."""
    from kis_intel_assets.defs.krx.resources import KRXResource
    from kis_intel_assets.defs.resources import resources_against

    krx = KRXResource()
    if krx_simulator is not None:
        login_id, password = next(iter(KRX_DEMO_ACCOUNTS.items()))
        krx = KRXResource(
            login_id=login_id,
            password=password,
            base_url=krx_simulator.base_url,
            requests_per_second=KRX_DEMO_RATE,
        )
    resources = resources_against(
        simulator.base_url, url, DEMO_APP_KEY, DEMO_APP_SECRET, rate_limit_per_sec=rate_limit, krx=krx
    )
    return {**resources, "krx": krx}


def dev_command(symbols: int, days: int, seed: int, rate_limit: float) -> str:
    """`kis-intel dev` with this demo's market: the options that differ from the defaults."""
    options = [
        f"--{name} {value:g}" if isinstance(value, float) else f"--{name} {value}"
        for name, value, default in (
            ("symbols", symbols, DEFAULT_SYMBOLS),
            ("days", days, DEFAULT_DAYS),
            ("seed", seed, DEFAULT_SEED),
            ("rate-limit", rate_limit, DEFAULT_RATE_LIMIT),
        )
        if value != default
    ]
    return " ".join([".venv/bin/kis-intel dev", *options])


def run_krx(graph: DemoGraph, window: Sequence[date]) -> None:
    """Balance for every day KRX has published (T+3), and the last days' flows with the reconciliation."""
    now, gates = datetime.now(SEOUL), PublicationGates()
    published = [day for day in window if gates.available_from(SHORT_BALANCE, day) <= now]
    if published:
        with step(f"short_balance from KRX ({len(published)} days published at T+3; fills short_selling)"):
            graph.run(["short_balance"], published)
    final = [day for day in window if gates.available_from(INVESTOR_FLOWS, day) <= now][-KRX_FLOW_DAYS:]
    if final:
        with step(f"krx_investor_flows + investor_flows_agree_with_krx ({len(final)} days)"):
            graph.run(["krx_investor_flows"], final, extra_checks=krx_checks)


def run_analytics(graph: DemoGraph, window: list[date]) -> bool:
    """Each analytics asset over the part of the window for which its trailing history is stored."""
    flow_from = SECTOR_FLOW_LOOKBACK_DAYS + 1
    signal_from = flow_from + ROTATION.lookback_days + 1
    if len(window) <= signal_from:
        print(
            f"  (analytics skipped: they need over {signal_from} trading days; try --days {signal_from + 20})"
        )
        return False
    with step(f"stock_money_flow_index, sector_money_flow ({len(window) - flow_from} days)"):
        graph.run(["stock_money_flow_index", "sector_money_flow"], window[flow_from:])
    daily = ["rotation_signal", "short_overheat", "overheat_candidates", "concentrated_buying"]
    with step(f"{', '.join(daily)} ({len(window) - signal_from} days)"):
        graph.run(daily, window[signal_from:])
    with step("rotation_scorecard (all stored history)"):
        graph.run(["rotation_scorecard"])
    return True


class DemoGraph:
    """The demo's resources and Dagster instance, shared by every step."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.resources: dict[str, object] = {}

    def run(
        self,
        keys: Sequence[str],
        days: Sequence[date] | None = None,
        checks: bool = False,
        extra_checks: Sequence[dg.AssetChecksDefinition] = (),
    ) -> None:
        result = materialize_selection(
            keys,
            self.resources,
            days=days,
            instance=self.instance,
            table_checks=checks,
            checks=extra_checks,
            quiet=True,
        )
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                print(f"    ! check {name} did not pass")


def _row_count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None  # count(*) answers one row
    return int(row[0])


def _summary(url: str, requests: int, seconds: float, next_command: str) -> None:
    with connect(url) as conn:
        counts = {table: _row_count(conn, table) for table in SUMMARY_TABLES}
    print(f"\nDone in {seconds:.1f}s with {requests} KIS requests. Rows in {redact_url(url)}:")
    for table, count in counts.items():
        print(f"  {table:<27} {count:>9,}")
    print(
        "\nNext: one command for the Dagster UI (lineage, materializations, checks; the daemon runs\n"
        "schedules, sensors and backfills), the pages and a KIS simulator serving this demo's market,\n"
        "so a partition materialized from the UI works at once; Ctrl-C stops all of it:\n"
        f"  {next_command}"
    )
