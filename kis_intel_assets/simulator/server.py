"""Run the simulator with uvicorn in a background thread (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import uvicorn
from starlette.types import Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from kis_intel_assets.background_server import serving_in_thread
from kis_intel_assets.simulator.app import SimulatorApp
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.overheat import OverheatDifference
from kis_intel_assets.simulator.stats import SimulatorStats
from kis_intel_assets.simulator.truth import GroundTruth


class _Connections:
    """Open transports by client address, so a "drop" fault can abort the caller's connection."""

    def __init__(self) -> None:
        self.by_client: dict[tuple, asyncio.Transport] = {}

    def protocol_class(self) -> type[H11Protocol]:
        registry = self.by_client

        class TrackedH11Protocol(H11Protocol):
            # H11Protocol itself narrows asyncio's BaseTransport to Transport (and ignores it the same way)
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if self.client:
                    registry[tuple(self.client)] = transport

            def connection_lost(self, exc: Exception | None) -> None:
                if self.client:
                    registry.pop(tuple(self.client), None)
                super().connection_lost(exc)

        return TrackedH11Protocol

    def drop(self, scope: Scope) -> None:
        client = scope.get("client")
        transport = self.by_client.get(tuple(client)) if client else None
        if transport is not None:
            transport.abort()


class Simulator:
    """A configured simulator: model, ground truth, stats and the ASGI app (not yet listening)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.model = MarketModel(config)
        self.stats = SimulatorStats()
        self.truth = GroundTruth(self.model)
        self._connections = _Connections()
        self.app = SimulatorApp(config, self.model, self.stats, self._connections.drop)
        self.base_url = ""

    @property
    def master_base_url(self) -> str:
        return self.base_url + "/common/master"

    def expire_tokens(self, app_key: str | None = None) -> int:
        return self.app.tokens.expire(app_key)

    def set_faults(self, spec: FaultSpec | None) -> None:
        self.app.set_faults(spec)

    def set_overheat_differences(self, differences: Iterable[OverheatDifference]) -> None:
        """Plant differences of the official 공매도 과열종목 list from the KRX rule (master files follow)."""
        self.model.overheat_differences = tuple(differences)

    def set_now(self, now: datetime | None) -> None:
        """Move the simulated clock (naive = KST); None = every configured day is final."""
        self.model.clock.set(now)

    def uvicorn_config(self, host: str, port: int) -> uvicorn.Config:
        return uvicorn.Config(
            self.app.asgi,
            host=host,
            port=port,
            http=self._connections.protocol_class(),
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,  # the app sends Date from the simulated clock; wire.KisWire fixes its casing
        )


@contextlib.contextmanager
def running_simulator(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[Simulator]:
    """Serve a simulator on host:port (0 = a free port) for the duration of the block."""
    simulator = Simulator(config)
    with serving_in_thread(simulator.uvicorn_config(host, port), "kis-simulator") as bound_port:
        simulator.base_url = f"http://{host}:{bound_port}"
        yield simulator


def serve_beside_kis(
    command: str,
    label: str,
    server: contextlib.AbstractContextManager[Any],
    config: SimulatorConfig,
    host: str,
    kis_port: int | None,
) -> int:
    """A second source's simulator in the foreground until interrupted, with the KIS simulator over the same
    market on `kis_port` when given (both describe the same trades); the exit code of `command`."""
    try:
        with contextlib.ExitStack() as stack:
            print(f"{label} serving {stack.enter_context(server).base_url}", flush=True)
            if kis_port is not None:
                kis = stack.enter_context(running_simulator(config, host, kis_port))
                print(f"KIS simulator serving {kis.base_url} (same seed and days: same market)", flush=True)
            while True:
                time.sleep(3600)
    except RuntimeError as error:  # e.g. the port is taken
        print(f"{command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
