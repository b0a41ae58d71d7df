"""pytest plugin: simulator fixtures (register in the root conftest with
`pytest_plugins = ["kis_intel_assets_tests.simulator_fixtures"]`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.krx_app import KRXSimSettings
from kis_intel_assets.simulator.krx_server import KRXSimulator, running_krx_simulator
from kis_intel_assets_tests.support.simulators import (
    DEFAULT_TEST_CONFIG,
    SimulatorFactory,
    second_source_factory,
)


@pytest.fixture
def simulator_factory() -> Iterator[SimulatorFactory]:
    """Start simulators with any SimulatorConfig fields (small defaults); all stop at test end."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: object) -> Simulator:
            config = SimulatorConfig(**{**DEFAULT_TEST_CONFIG, **overrides})  # type: ignore[arg-type]
            return stack.enter_context(running_simulator(config))

        yield start


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    """A shared small simulator (40 symbols, 2024-01-02..2025-06-30) for read-only tests of one module."""
    with running_simulator(SimulatorConfig(**DEFAULT_TEST_CONFIG)) as sim:  # type: ignore[arg-type]
        yield sim


@pytest.fixture
def krx_simulator_factory() -> Iterator[Callable[..., KRXSimulator]]:
    """Start KRX portal simulators: `start(market, **KRXSimSettings fields)`; all stop at test end."""
    with second_source_factory(running_krx_simulator, KRXSimSettings) as start:
        yield start
