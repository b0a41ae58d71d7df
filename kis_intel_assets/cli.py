"""The `kis-intel` command: database migrations, the KIS simulator, the end-to-end demo."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import dagster as dg

from kis_intel_assets.krx_calendar import CalendarRangeError
from kis_intel_assets.storage import ConfigurationError, migrate, redact_url, resolve_database_url
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


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
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
    demo.add_argument("--symbols", type=_positive_int, default=300, help="simulated stocks (default 300)")
    demo.add_argument("--days", type=_positive_int, default=160, help="trading days to ingest (default 160)")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    demo.add_argument(
        "--rate-limit", type=_positive_float, default=100.0, help="simulator requests/s per key (default 100)"
    )
    demo.set_defaults(handler=_demo)

    commands.add_parser("simulator", help="run the local KIS-compatible simulator", add_help=False)
    commands.add_parser("simulator-kiwoom", help="run the local Kiwoom REST simulator", add_help=False)
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
    if argv[:1] == ["discover"]:
        from kis_intel_assets.kis.discovery import run_discover_cli

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
    except (ConfigurationError, MigrationError, CalendarRangeError) as exc:
        print(f"kis-intel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
