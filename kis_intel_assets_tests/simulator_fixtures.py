"""pytest plugin: simulator fixtures (register in the root conftest with
`pytest_plugins = ["kis_intel_assets_tests.simulator_fixtures"]`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from kis_intel_assets.defs.resources import resources_against
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.krx_app import KRXSimSettings
from kis_intel_assets.simulator.krx_server import KRXSimulator, running_krx_simulator
from kis_intel_assets.simulator.model import MarketModel

SimulatorFactory = Callable[..., Simulator]
DEFAULT_TEST_CONFIG = {"seed": 7, "n_symbols": 40, "start": date(2024, 1, 2), "end": date(2025, 6, 30)}


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


def simulator_resources(
    sim: Simulator, database_url: str, app_key: str, app_secret: str = "test-app-secret", **kis_settings: Any
) -> dict[str, object]:
    """The `database` and `kis` resources of a run against `sim` (KISResource settings as keywords)."""
    return resources_against(sim.base_url, database_url, app_key, app_secret, **kis_settings)


def simulator_environment(
    sim: Simulator, database_url: str, app_key: str, app_secret: str, rate_limit_per_sec: float
) -> dict[str, str]:
    """The environment of a Dagster subprocess run against `sim`: the same settings a user exports,
    and no inherited DAGSTER_HOME (each test chooses its instance)."""
    env = {
        **os.environ,
        "KIS_INTEL_DATABASE_URL": database_url,
        "KIS_APP_KEY": app_key,
        "KIS_APP_SECRET": app_secret,
        "KIS_BASE_URL": sim.base_url,
        "KIS_MASTER_BASE_URL": sim.master_base_url,
        "KIS_RATE_LIMIT_PER_SEC": str(rate_limit_per_sec),
    }
    env.pop("DAGSTER_HOME", None)
    return env


def dagster_materialize_command(select: str, *partition_args: str) -> list[str]:
    """`dagster asset materialize` of this project's definitions, in one process (the CLI as documented)."""
    return [
        os.path.join(os.path.dirname(sys.executable), "dagster"),
        "asset",
        "materialize",
        "-m",
        "kis_intel_assets.definitions",
        "--select",
        select,
        *partition_args,
        "--config-json",
        '{"execution": {"config": {"in_process": {}}}}',
    ]


@pytest.fixture
def krx_simulator_factory() -> Iterator[Callable[..., KRXSimulator]]:
    """Start KRX portal simulators: `start(market, **KRXSimSettings fields)` where market is a MarketModel
    (e.g. a KIS simulator's `.model`, to serve the same trades) or a SimulatorConfig; all stop at test end."""
    with contextlib.ExitStack() as stack:

        def start(market: SimulatorConfig | MarketModel, **settings: Any) -> KRXSimulator:
            return stack.enter_context(running_krx_simulator(market, KRXSimSettings(**settings)))

        yield start
