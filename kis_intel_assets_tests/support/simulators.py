"""Simulators for the tests: the small default market, the Dagster resources and the subprocess environment
of a run against a simulator, and factories that start second-source simulators (KRX portal, Kiwoom) over
any market for one test."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

from kis_intel_assets.defs.resources import resources_against
from kis_intel_assets.simulator import Simulator, SimulatorConfig
from kis_intel_assets.simulator.model import MarketModel

SimulatorFactory = Callable[..., Simulator]
DEFAULT_TEST_CONFIG = {"seed": 7, "n_symbols": 40, "start": date(2024, 1, 2), "end": date(2025, 6, 30)}
Served = TypeVar("Served")
Settings = TypeVar("Settings")


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


@contextlib.contextmanager
def second_source_factory(
    running: Callable[[SimulatorConfig | MarketModel, Settings], contextlib.AbstractContextManager[Served]],
    settings_type: Callable[..., Settings],
) -> Iterator[Callable[..., Served]]:
    """`start(market, **settings fields)` serves one more simulator of that source over `market` (a
    MarketModel, e.g. a KIS simulator's `.model` to serve the same trades, or a SimulatorConfig); all of
    them stop when the block ends."""
    with contextlib.ExitStack() as stack:

        def start(market: SimulatorConfig | MarketModel, **settings: Any) -> Served:
            return stack.enter_context(running(market, settings_type(**settings)))

        yield start
