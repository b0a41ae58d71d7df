"""Gateway fixtures: a simulator, a migrated database and gateways in front of them (the local clients
are in support/gateway.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kis_intel_assets.gateway import Gateway, GatewaySettings, running_gateway
from kis_intel_assets.kis import KISConfig
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets_tests.support.gateway import REAL_SECRET, GatewayFactory, local_clients


@pytest.fixture(scope="module")
def gateway_sim() -> Iterator[Simulator]:
    """A small simulator (KIS token rules: one issuance per minute per key) that pages every ranged TR
    with tr_cont, so the tests see that header pass through the gateway both ways."""
    config = SimulatorConfig(
        seed=7, n_symbols=12, start=dt.date(2024, 1, 2), end=dt.date(2025, 3, 31), paging_style="tr_cont"
    )
    with running_simulator(config) as sim:
        yield sim


@pytest.fixture
def real_key() -> str:
    return f"PSreal{uuid.uuid4().hex}"


@pytest.fixture
def gateway_factory(database_url: str, real_key: str) -> Iterator[GatewayFactory]:
    """Starts gateways in front of a simulator for the real key; all stop at test end."""
    with contextlib.ExitStack() as stack:

        def start(sim: Simulator, kis_settings: dict[str, Any] | None = None, **settings: Any) -> Gateway:
            kis = KISConfig(
                app_key=real_key,
                app_secret=REAL_SECRET,
                database_url=database_url,
                base_url=sim.base_url,
                rate_limit_per_sec=20.0,
                read_timeout_seconds=5.0,
                **(kis_settings or {}),
            )
            config = GatewaySettings(kis=kis, clients=local_clients(), **settings)
            return stack.enter_context(running_gateway(config))

        yield start
