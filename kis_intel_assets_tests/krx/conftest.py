"""KRX client tests: a KIS simulator and a KRX portal simulator over one MarketModel on loopback, and a
client builder that talks to any KRX simulator with the test database (circuit and pacing live there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kis_intel_assets.krx import KRXClient
from kis_intel_assets.krx.session import close_shared_sessions
from kis_intel_assets.simulator import Simulator, running_simulator
from kis_intel_assets.simulator.krx_server import KRXSimulator, running_krx_simulator
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets_tests.support.krx import CREDENTIALS, MARKET


@pytest.fixture(scope="session")
def kis_sim() -> Iterator[Simulator]:
    with running_simulator(MARKET) as sim:
        yield sim


@pytest.fixture(scope="session")
def krx_sim(kis_sim: Simulator) -> Iterator[KRXSimulator]:
    """The shared KRX simulator over the KIS simulator's market (default settings; never move its clock)."""
    with running_krx_simulator(kis_sim.model) as sim:
        yield sim


@pytest.fixture
def own_market() -> Callable[[], MarketModel]:
    """A fresh MarketModel of the same market, for tests that move the simulated clock."""
    return lambda: MarketModel(MARKET)


@pytest.fixture
def make_client(database_url: str) -> Iterator[Callable[..., KRXClient]]:
    clients: list[KRXClient] = []

    def build(sim: KRXSimulator, **overrides: Any) -> KRXClient:
        settings: dict[str, Any] = {
            "requests_per_second": 50.0,
            "clock": sim.model.now_kst,
            "timeout_seconds": 5.0,
            "share_session": False,  # each client stands for a process of its own unless a test says so
        }
        settings.update(overrides)
        credentials = settings.pop("credentials", CREDENTIALS)
        client = KRXClient(sim.base_url, credentials, settings.pop("database_url", database_url), **settings)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
    close_shared_sessions()
