"""Serve the Kiwoom simulator on loopback over the same MarketModel as a KIS simulator, so both brokers
describe the same trades (pass `model=kis_simulator.model` to share one instance)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kis_intel_assets.background_server import serving_app
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings, KiwoomSimulatorApp
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.truth import GroundTruth


class KiwoomSimulator:
    def __init__(self, model: MarketModel, settings: KiwoomSimSettings) -> None:
        self.model = model
        self.truth = GroundTruth(model)
        self.app = KiwoomSimulatorApp(model, settings)
        self.stats = self.app.stats
        self.base_url = ""

    def set_down(self, down: bool) -> None:
        """Answer every TR with HTTP 503 (a broker outage) or serve again."""
        self.app.down = down

    def expire_tokens(self) -> None:
        self.app.tokens.expire()


@contextlib.contextmanager
def running_kiwoom_simulator(
    market: SimulatorConfig | MarketModel,
    settings: KiwoomSimSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[KiwoomSimulator]:
    model = market if isinstance(market, MarketModel) else MarketModel(market)
    simulator = KiwoomSimulator(model, settings or KiwoomSimSettings())
    with serving_app(simulator.app.asgi, host, port, "kiwoom-simulator") as base_url:
        simulator.base_url = base_url
        yield simulator
