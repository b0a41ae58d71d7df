"""The `kis-intel` command: database migrations, the KIS simulator, the end-to-end demo, `dev`."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

import dagster as dg

from kis_intel_assets.demo import DEFAULT_DAYS, DEFAULT_RATE_LIMIT, DEFAULT_SEED, DEFAULT_SYMBOLS
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.kis.ratelimit import MAX_BUDGET_PER_SEC
from kis_intel_assets.krx_calendar import CalendarRangeError
from kis_intel_assets.simulator.config import MAX_SYMBOLS
from kis_intel_assets.storage import (
    DatabaseUnavailableError,
    migrate,
    redact_url,
    resolve_database_url,
)
from kis_intel_assets.storage.migrations import MigrationError


def _db_migrate(_: argparse.Namespace) -> int:
    url = resolve_database_url()
    report = migrate(url)
    for name in report.applied:
        print(f"applied {name}")
    print(
        f"database {redact_url(url)} is up to date "
        f"({len(report.applied)} applied, {len(report.already_applied)} already applied, "
        f"{'TimescaleDB hypertables' if report.timescale_statements else 'plain PostgreSQL tables'})"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from kis_intel_assets.demo import run_demo

    return run_demo(symbols=args.symbols, days=args.days, seed=args.seed, rate_limit=args.rate_limit)


def _dev(args: argparse.Namespace) -> int:
    from kis_intel_assets.dev import DevSettings, run_dev

    return run_dev(
        DevSettings(
            symbols=args.symbols,
            days=args.days,
            seed=args.seed,
            rate_limit=args.rate_limit,
            host=args.host,
            dagster_port=args.dagster_port,
            pages_port=args.pages_port,
            simulator_port=args.simulator_port,
        )
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"must be a TCP port 1-65535, got {text!r}")
    return int(text)


def _add_market_options(command: argparse.ArgumentParser) -> None:
    """The simulated market's options, shared by `demo` and `dev` so both serve the same one."""
    command.add_argument(
        "--symbols",
        type=_whole_number(4, MAX_SYMBOLS),
        default=DEFAULT_SYMBOLS,
        help=f"simulated stocks, 4-{MAX_SYMBOLS} (default {DEFAULT_SYMBOLS})",
    )
    command.add_argument(
        "--days",
        type=_whole_number(1, 2500),
        default=DEFAULT_DAYS,
        help=f"trading days to ingest, 1-2500 (default {DEFAULT_DAYS})",
    )
    command.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"simulator seed (default {DEFAULT_SEED})"
    )
    command.add_argument(
        "--rate-limit",
        type=_budget,
        default=DEFAULT_RATE_LIMIT,
        help=f"simulator requests/s per key, at most {MAX_BUDGET_PER_SEC:g} (default {DEFAULT_RATE_LIMIT:g})",
    )


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else one line saying so."""

    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text!r}")
        return int(text)

    return parse


def _budget(text: str) -> float:
    """A per-key request budget: what KIS can grant one key, at most 100/s."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_BUDGET_PER_SEC:
        raise argparse.ArgumentTypeError(
            f"must be a number of requests/s above 0 and at most 100, got {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kis-intel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser(
        "migrate", help="apply sql/ migrations (KIS_INTEL_DATABASE_URL, or the embedded server)"
    ).set_defaults(handler=_db_migrate)

    demo = commands.add_parser("demo", help="run the whole pipeline against the local KIS simulator")
    _add_market_options(demo)
    demo.set_defaults(handler=_demo)

    dev = commands.add_parser(
        "dev", help="Dagster UI + daemon, the pages and the demo's simulator, until Ctrl-C or SIGTERM"
    )
    _add_market_options(dev)
    dev.add_argument("--host", default="127.0.0.1", help="interface for all three (default 127.0.0.1)")
    dev.add_argument("--dagster-port", type=_port, default=3000, help="Dagster UI (default 3000)")
    dev.add_argument("--pages-port", type=_port, default=8050, help="pages (default 8050)")
    dev.add_argument("--simulator-port", type=_port, default=8900, help="KIS simulator (default 8900)")
    dev.set_defaults(handler=_dev)

    commands.add_parser("simulator", help="run the local KIS-compatible simulator", add_help=False)
    commands.add_parser("simulator-kiwoom", help="run the local Kiwoom REST simulator", add_help=False)
    commands.add_parser("simulator-krx", help="run the local KRX data-portal simulator", add_help=False)
    commands.add_parser(
        "discover", help="record KIS response schemas and diff them with the registry", add_help=False
    )
    commands.add_parser("serve", help="serve the sector map, overheat and rotation pages", add_help=False)
    commands.add_parser(
        "gateway", help="serve the KIS gateway: one token and one budget for every tool", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster flags beta/preview APIs on every import; they are pinned deliberately, so keep the CLI quiet.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulator"]:
        from kis_intel_assets.simulator.cli import run_simulator_cli

        return run_simulator_cli(argv[1:])
    if argv[:1] == ["simulator-kiwoom"]:
        from kis_intel_assets.simulator.kiwoom_cli import run_kiwoom_simulator_cli

        return run_kiwoom_simulator_cli(argv[1:])
    if argv[:1] == ["simulator-krx"]:
        from kis_intel_assets.simulator.krx_cli import run_krx_simulator_cli

        return run_krx_simulator_cli(argv[1:])
    if argv[:1] == ["discover"]:
        from kis_intel_assets.discover_cli import run_discover_cli

        return run_discover_cli(argv[1:])
    if argv[:1] == ["serve"]:
        from kis_intel_assets.pages import run_serve_cli

        return run_serve_cli(argv[1:])
    if argv[:1] == ["gateway"]:
        from kis_intel_assets.gateway import run_gateway_cli

        return run_gateway_cli(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigurationError, DatabaseUnavailableError, MigrationError, CalendarRangeError) as exc:
        print(f"kis-intel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
