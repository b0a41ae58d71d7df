"""`kis-intel simulator-krx ...`: serve the KRX data-portal simulator (optionally with a KIS simulator over
the same market and clock, so both describe the same trades) in the foreground until interrupted."""

from __future__ import annotations

import argparse
from datetime import datetime

from kis_intel_assets.simulator.cli import add_market_server_options, run_beside_kis_cli
from kis_intel_assets.simulator.clock import parse_now
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.krx_app import (
    BLOCK_FORMS,
    DEFAULT_ACCOUNTS,
    INVESTOR_BEFORE_FORMS,
    ZERO_ROW_FORMS,
    KRXSimSettings,
)
from kis_intel_assets.simulator.krx_server import running_krx_simulator
from kis_intel_assets.simulator.model import MarketModel


def _clock_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%H:%M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HH:MM, got {text!r}") from None


def _account(text: str) -> tuple[str, str]:
    login_id, sep, password = text.partition(":")
    if not sep or not login_id or not password:
        raise argparse.ArgumentTypeError("--account must look like ID:PASSWORD")
    return login_id, password


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kis-intel simulator-krx", description="Local KRX data-portal simulator", exit_on_error=False
    )
    add_market_server_options(parser, port=8092, beside_kis=True)
    parser.add_argument(
        "--now", default="", help="simulated KST time at start, e.g. 2025-06-30T19:00 (runs on)"
    )
    parser.add_argument(
        "--account", type=_account, action="append", default=None, help="ID:PASSWORD (repeatable)"
    )
    parser.add_argument("--session-seconds", type=float, default=3600.0)
    parser.add_argument("--logout-status", type=int, default=400, choices=(400, 404))
    parser.add_argument("--block-after", type=int, default=300, help="requests per window before a block")
    parser.add_argument("--block-window", type=float, default=60.0, help="seconds")
    parser.add_argument("--block-form", default="403_page", choices=BLOCK_FORMS)
    parser.add_argument("--investor-final-after", type=_clock_time, default=_clock_time("16:00"))
    parser.add_argument("--investor-before", default="empty", choices=INVESTOR_BEFORE_FORMS)
    parser.add_argument("--balance-visible-from", type=_clock_time, default=_clock_time("08:00"))
    parser.add_argument("--zero-rows", default="include", choices=ZERO_ROW_FORMS)
    parser.add_argument("--state-in-pension-fund", action="store_true")
    return parser


def _market_and_settings(args: argparse.Namespace) -> tuple[MarketModel, KRXSimSettings]:
    now = parse_now(args.now) if args.now else None
    market = MarketModel(
        SimulatorConfig(seed=args.seed, n_symbols=args.symbols, now=now, clock_running=now is not None)
    )
    settings = KRXSimSettings(
        accounts=dict(args.account) if args.account else dict(DEFAULT_ACCOUNTS),
        session_seconds=args.session_seconds,
        logout_status=args.logout_status,
        block_after_requests=args.block_after,
        block_window_seconds=args.block_window,
        block_form=args.block_form,
        investor_final_after=args.investor_final_after.time(),
        investor_before=args.investor_before,
        balance_visible_from=args.balance_visible_from.time(),
        zero_rows=args.zero_rows,
        state_in_pension_fund=args.state_in_pension_fund,
    )
    return market, settings


def run_krx_simulator_cli(argv: list[str]) -> int:
    return run_beside_kis_cli(
        "kis-intel simulator-krx",
        "KRX portal simulator",
        _parser(),
        argv,
        _market_and_settings,
        running_krx_simulator,
    )
