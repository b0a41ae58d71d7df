"""`kis-intel simulator ...`: serve the simulator in the foreground until interrupted."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets.simulator.replay import ReplayDataError
from kis_intel_assets.simulator.server import running_simulator

USAGE_ERROR = 2


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kis-intel simulator", description="Local KIS-compatible simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--symbols", type=int, default=2500, help="universe size")
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
