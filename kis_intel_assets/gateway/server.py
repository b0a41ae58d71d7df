"""`kis-intel gateway`: serve the gateway in the foreground; SIGTERM/SIGINT drain before exiting.

On a stop signal uvicorn stops accepting connections and lets every accepted request finish (up to the
grace period) while the senders keep working: a client waiting on an answer gets it, a client that
connects during the restart gets a connection error it can retry. The shared token survives in
PostgreSQL, so the next process issues none.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn

from kis_intel_assets.background_server import serving_in_thread
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.gateway.app import Gateway
from kis_intel_assets.gateway.config import GatewaySettings, settings_from_environment
from kis_intel_assets.storage import redact_url

USAGE_ERROR = 2


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self._gateway = gateway

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            print(
                f"kis-intel gateway: stopping, {self._gateway.in_flight} request(s) in flight are answered "
                "first",
                flush=True,
            )
        super().handle_exit(sig, frame)


@contextlib.contextmanager
def running_gateway(settings: GatewaySettings, host: str = "127.0.0.1", port: int = 0) -> Iterator[Gateway]:
    """A gateway on a background thread for the block (tests, benchmarks); `base_url` is set on it."""
    gateway = Gateway(settings)
    with serving_in_thread(gateway.uvicorn_config(host, port), "kis-gateway") as bound_port:
        gateway.base_url = f"http://{host}:{bound_port}"
        yield gateway


def _shared_listener(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT: a new gateway process can bind the port while the old one
    still drains, so a restart (start the new one, then stop the old one) has no gap."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)  # queued until uvicorn accepts, so "serving" below is already true
    except OSError as exc:
        listener.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return listener


def serve(settings: GatewaySettings, host: str, port: int) -> None:
    gateway = Gateway(settings)
    server = _DrainingServer(gateway.uvicorn_config(host, port), gateway)
    listener = _shared_listener(host, port)
    print(
        f"KIS gateway serving http://{host}:{port} -> {redact_url(settings.kis.base_url)} "
        f"({len(settings.clients)} clients, {settings.upstream_concurrency} senders, "
        f"{settings.kis.effective_rate_per_sec:g} req/s shared budget)",
        flush=True,
    )
    # uvicorn re-raises the stop signal once drained; a no-op handler lets the summary below be printed
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    server.run(sockets=[listener])
    print(f"kis-intel gateway: stopped; accepted {gateway.accepted}, answered {gateway.answered}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kis-intel gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument(
        "--clients",
        type=Path,
        default=None,
        help="TOML file of local client credentials (or KIS_GATEWAY_CLIENTS)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="upstream requests in flight at most (default half the key's budget)",
    )
    return parser


def run_gateway_cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if not 0 <= args.port <= 65535:
            raise ConfigurationError(f"--port must be within 0..65535, got {args.port}")
        if args.concurrency < 0:
            raise ConfigurationError(f"--concurrency must be positive, got {args.concurrency}")
        settings = settings_from_environment(args.clients, upstream_concurrency=args.concurrency)
        serve(settings, args.host, args.port)
    except ConfigurationError as exc:
        print(f"kis-intel gateway: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return 0
