"""`kis-intel simulator ...`: serve the simulator in the foreground until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from kis_intel_assets.simulator.clock import TIME_LIMIT_SCOPES, parse_now, parse_offset, parse_publication
from kis_intel_assets.simulator.config import (
    HISTORY_LIMIT_FORMS,
    NO_DATA_FORMS,
    RATE_LIMIT_STYLES,
    SimulatorConfig,
)
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.paging import PAGING_STYLES
from kis_intel_assets.simulator.replay import ReplayDataError
from kis_intel_assets.simulator.server import running_simulator, serve_beside_kis

USAGE_ERROR = 2
Settings = TypeVar("Settings")


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(message)


def add_market_server_options(
    parser: argparse.ArgumentParser, port: int, *, beside_kis: bool = False
) -> None:
    """Where a simulator listens and which market it serves: the options every simulator command shares.

    The same --seed and --symbols give every simulator the same market; `beside_kis` adds --kis-port, a KIS
    simulator over that market served by the same command.
    """
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    if beside_kis:
        parser.add_argument(
            "--kis-port", type=int, default=None, help="also serve the KIS simulator (same market)"
        )
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--symbols", type=int, default=SimulatorConfig.n_symbols, help="universe size")


def run_beside_kis_cli(
    command: str,
    label: str,
    parser: argparse.ArgumentParser,
    argv: list[str],
    build: Callable[[argparse.Namespace], tuple[MarketModel, Settings]],
    running: Callable[[MarketModel, Settings, str, int], contextlib.AbstractContextManager[Any]],
) -> int:
    """A second source's simulator command: parse `argv`, `build` the market and the simulator's settings
    from it (a bad value is a usage error, exit 2), then serve `running` beside KIS until interrupted."""
    try:
        args = parser.parse_args(argv)
        market, settings = build(args)
    except (argparse.ArgumentError, argparse.ArgumentTypeError, ValueError) as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    server = running(market, settings, args.host, args.port)
    return serve_beside_kis(command, label, server, market.config, args.host, args.kis_port)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kis-intel simulator", description="Local KIS-compatible simulator")
    add_market_server_options(parser, port=8090)
    parser.add_argument("--rate-limit", type=float, default=20.0, help="requests per second per app key")
    parser.add_argument(
        "--new-key-rate",
        type=float,
        default=None,
        help="hold every app key to this many requests/s, as KIS does a new customer's (about 3)",
    )
    parser.add_argument("--faults", default="", help='e.g. "http5xx=0.02,truncated=0.005"')
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--paper", action="store_true", help="paper-account mode (2/s, real-only TRs refused)"
    )
    parser.add_argument("--replay", type=Path, default=None, help="directory with prices.csv to replay")
    parser.add_argument(
        "--rate-limit-style",
        choices=RATE_LIMIT_STYLES,
        default="500",
        help="HTTP status of an EGW00201 answer (KIS clients see both)",
    )
    parser.add_argument(
        "--paging",
        choices=PAGING_STYLES,
        default="known",
        help="paging of the date-ranged TRs whose live behaviour is unknown",
    )
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument(
        "--now", default="", help="simulated KST time at start, e.g. 2025-06-30T15:00 (runs on)"
    )
    clock.add_argument("--time-offset", default="", help="simulated time = real time + this, e.g. -2h30m")
    parser.add_argument(
        "--publication",
        default="",
        help="per-TR publication times, e.g. FHPST04830000=16:10/absent; "
        "HHPST074500C0=08:00+1d publishes at 08:00 of the next trading day",
    )
    parser.add_argument(
        "--time-limit-scope",
        choices=TIME_LIMIT_SCOPES,
        default="all",
        help="FHPTJ04160001 before 15:41: refuse every request, or only today's",
    )
    parser.add_argument(
        "--history-limit",
        choices=HISTORY_LIMIT_FORMS,
        default="refuse",
        help="FHPPG04600001 older than 8 months: refuse the call, or clip the rows",
    )
    parser.add_argument(
        "--no-data",
        choices=NO_DATA_FORMS,
        default="rt7",
        help='no rows for a stock: rt_cd "7", output2 [{}], or stck_prpr "0"',
    )
    return parser


def run_simulator_cli(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise _ArgumentError(f"--port must be within 0..65535, got {args.port}")
        faults = FaultSpec.parse(args.faults, seed=args.fault_seed) if args.faults else None
        config = SimulatorConfig(
            seed=args.seed,
            n_symbols=args.symbols,
            rate_limit_per_sec=args.rate_limit,
            new_key_rate_limit_per_sec=args.new_key_rate,
            paper=args.paper,
            faults=faults,
            replay_dir=args.replay,
            rate_limit_style=args.rate_limit_style,
            paging_style=args.paging,
            now=parse_now(args.now) if args.now else None,
            clock_running=bool(args.now),
            time_offset=parse_offset(args.time_offset) if args.time_offset else None,
            publication=parse_publication(args.publication),
            time_limit_scope=args.time_limit_scope,
            history_limit_form=args.history_limit,
            no_data_form=args.no_data,
        )
    except (_ArgumentError, ValueError) as error:
        print(f"kis-intel simulator: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    try:
        with running_simulator(config, host=args.host, port=args.port) as simulator:
            print(f"KIS simulator serving {simulator.base_url} (masters {simulator.master_base_url})")
            while True:
                time.sleep(3600)
    except ReplayDataError as error:
        print(f"kis-intel simulator: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except RuntimeError as error:  # e.g. the port is taken
        print(f"kis-intel simulator: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
