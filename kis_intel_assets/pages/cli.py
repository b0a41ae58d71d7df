"""`kis-intel serve`: the pages on uvicorn, plus a background server for tests and benchmarks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvicorn

from kis_intel_assets.background_server import serving_app
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.pages.app import create_app
from kis_intel_assets.storage import redact_url, resolve_database_url


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"must be a TCP port 1-65535, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kis-intel serve", description="serve the sector map, overheat and rotation pages"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8050, help="TCP port (default 8050)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql:// URL (default KIS_INTEL_DATABASE_URL, else the embedded server)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="render every request instead of keeping pages until the data changes (for comparison)",
    )
    return parser


def run_serve_cli(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        url = args.database_url or resolve_database_url()
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(f"--database-url must be a postgresql:// URL, got {redact_url(url)!r}")
    except ConfigurationError as exc:
        print(f"kis-intel serve: error: {exc}", file=sys.stderr)
        return 2
    print(f"kis-intel pages on http://{args.host}:{args.port}/ (database {redact_url(url)})", flush=True)
    uvicorn.run(create_app(url, cache=not args.no_cache), host=args.host, port=args.port, log_level="warning")
    return 0


@contextmanager
def serving(database_url: str, *, cache: bool = True) -> Iterator[str]:
    """Serve the pages on a free loopback port in a background thread; yields the base URL."""
    app = create_app(database_url, cache=cache)
    with serving_app(app, "127.0.0.1", 0, "kis-intel pages", timeout_graceful_shutdown=2) as base_url:
        yield base_url
