"""`kis-intel demo`: the whole pipeline end to end on this machine, against the local KIS simulator.

The simulator runs in-process on loopback, the market data goes to the embedded PostgreSQL (or
KIS_INTEL_DATABASE_URL), and every run is recorded in a persistent DAGSTER_HOME so `dagster dev`
afterwards shows the same materializations, checks and lineage.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
from psycopg import sql

from kis_intel_assets.defs.partitions import SEOUL, partition_start
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.storage import connect, migrate, redact_url, resolve_database_url
from kis_intel_assets.storage.database import project_home

DEMO_APP_KEY = "demo-app-key"
DEMO_APP_SECRET = "demo-app-secret"
# Runs stay fully logged in DAGSTER_HOME; the terminal shows only warnings and the demo's own lines.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
HISTORY_CALENDAR_DAYS = 400
FINAL_HOUR_KST = 16  # the simulator's market starts this far back, enough for 60-day baselines


def ensure_dagster_home() -> Path:
    """A persistent DAGSTER_HOME (SQLite) so the demo's runs stay visible in `dagster dev`."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_home() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
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
        raise ValueError(
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
    from kis_intel_assets.defs.ingest.assets import (
        daily_prices,
        investor_trends,
        program_trading,
        short_selling,
        stock_universe,
    )
    from kis_intel_assets.defs.ingest.checks import table_checks
    from kis_intel_assets.defs.resources import DatabaseResource, KISResource

    started = time.monotonic()
    dagster_home = ensure_dagster_home()
    today = datetime.now(SEOUL).date()
    window = demo_window(days, last_final_day(datetime.now(SEOUL)))
    print(f"kis-intel demo: {symbols} simulated stocks, {len(window)} trading days {window[0]}..{window[-1]}")

    with step("database"):
        url = resolve_database_url()
        migrate(url)
    config = SimulatorConfig(
        seed=seed,
        n_symbols=symbols,
        start=today - timedelta(days=HISTORY_CALENDAR_DAYS),
        end=today,
        rate_limit_per_sec=rate_limit,
    )
    instance = dg.DagsterInstance.get()
    with running_simulator(config) as simulator:
        print(f"  KIS simulator listening on {simulator.base_url}")
        database = DatabaseResource(url=url)
        resources = {
            "database": database,
            "kis": KISResource(
                app_key=DEMO_APP_KEY,
                app_secret=DEMO_APP_SECRET,
                database=database,
                base_url=simulator.base_url,
                master_base_url=simulator.master_base_url,
                rate_limit_per_sec=rate_limit,
            ),
        }
        with step("stock_universe (master files + 주식기본조회 per stock)"):
            _materialize([stock_universe], resources, instance)
        range_tags = {
            "dagster/asset_partition_range_start": window[0].isoformat(),
            "dagster/asset_partition_range_end": window[-1].isoformat(),
        }
        with step("daily_prices, investor_trends, short_selling, program_trading (one backfill run)"):
            _materialize(
                [daily_prices, investor_trends, short_selling, program_trading, *table_checks],
                resources,
                instance,
                tags=range_tags,
            )
        requests = len(simulator.stats.requests())
    _summary(url, dagster_home, requests, time.monotonic() - started)
    return 0


def _materialize(
    assets: Sequence[dg.AssetsDefinition | dg.AssetChecksDefinition],
    resources: dict[str, object],
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
) -> None:
    result = dg.materialize(
        assets,
        resources=resources,
        instance=instance,
        tags=tags or {},
        run_config=copy.deepcopy(QUIET_CONSOLE),
        raise_on_error=True,
    )
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for evaluation in failed_checks:
        print(f"    ! check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} did not pass")


def _summary(url: str, dagster_home: Path, requests: int, seconds: float) -> None:
    with connect(url) as conn:
        counts = {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                0
            ]
            for table in (
                "stock_master",
                "daily_prices",
                "investor_trends",
                "short_selling",
                "program_trading",
                "program_trading_market",
            )
        }
    print(f"\nDone in {seconds:.1f}s with {requests} KIS requests. Rows in {redact_url(url)}:")
    for table, count in counts.items():
        print(f"  {table:<24} {count:>9,}")
    print(
        "\nNext:\n"
        f"  DAGSTER_HOME={dagster_home} .venv/bin/dagster dev   # lineage, materializations, checks\n"
        "  .venv/bin/kis-intel simulator --port 8900            # a simulator for dagster dev runs"
    )
