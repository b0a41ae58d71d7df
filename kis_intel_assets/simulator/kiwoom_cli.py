"""`kis-intel simulator-kiwoom ...`: serve the Kiwoom simulator (optionally with a KIS simulator over the same
market, so both brokers describe the same trades) in the foreground until interrupted."""

from __future__ import annotations

import argparse

from kis_intel_assets.simulator.cli import add_market_server_options, run_beside_kis_cli
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.kiwoom_app import (
    KIWOOM_FAULT_KINDS,
    RATE_LIMIT_SCOPES,
    RATE_LIMIT_STATUSES,
    KiwoomSimSettings,
)
from kis_intel_assets.simulator.kiwoom_server import running_kiwoom_simulator
from kis_intel_assets.simulator.model import MarketModel


def _faults(text: str) -> dict[str, float]:
    """ "rate_limited=0.02,http5xx=0.01" -> {kind: probability}."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, value = item.partition("=")
        try:
            rates[kind] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"fault {item!r} is not kind=probability") from None
    return rates


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kis-intel simulator-kiwoom", description="Local Kiwoom REST simulator", exit_on_error=False
    )
    add_market_server_options(parser, port=8091, beside_kis=True)
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=5.0,
        help="requests per second per app key and TR (see --rate-limit-scope)",
    )
    parser.add_argument(
        "--rate-limit-scope",
        default="per_tr",
        choices=RATE_LIMIT_SCOPES,
        help="per_tr: a bucket per app key and TR (Kiwoom's rule); per_key: one bucket per app key",
    )
    parser.add_argument(
        "--total-rate-limit",
        type=float,
        default=None,
        help="requests per second per app key over all TRs ([1701]); default: no such limit",
    )
    parser.add_argument("--rate-limit-status", type=int, default=429, choices=RATE_LIMIT_STATUSES)
    parser.add_argument(
        "--faults", type=_faults, default={}, help=f"kind=probability,... of {KIWOOM_FAULT_KINDS}"
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    return parser


def _market_and_settings(args: argparse.Namespace) -> tuple[MarketModel, KiwoomSimSettings]:
    market = MarketModel(SimulatorConfig(seed=args.seed, n_symbols=args.symbols))
    settings = KiwoomSimSettings(
        rate_limit_per_sec=args.rate_limit,
        rate_limit_status=args.rate_limit_status,
        rate_limit_scope=args.rate_limit_scope,
        total_rate_limit_per_sec=args.total_rate_limit,
        fault_rates=args.faults,
        fault_seed=args.fault_seed,
    )
    return market, settings


def run_kiwoom_simulator_cli(argv: list[str]) -> int:
    return run_beside_kis_cli(
        "kis-intel simulator-kiwoom",
        "Kiwoom simulator",
        _parser(),
        argv,
        _market_and_settings,
        running_kiwoom_simulator,
    )
