"""Fixtures for client tests: a real simulator over loopback and a config builder per test.

Each test uses its own app key, so the simulator's per-key token and rate-limit state never leaks between
tests that share one simulator, and the token store/limiter rows live in the test's fresh database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from kis_intel_assets.kis import KISConfig
from kis_intel_assets_tests.support.clients import FAST_RETRY, FAST_TOKEN
from kis_intel_assets_tests.support.kis_market import sim_config


@pytest.fixture(scope="session")
def sim() -> Iterator[Any]:
    """One fault-free simulator for all client tests (each test has its own app key)."""
    from kis_intel_assets.simulator import running_simulator

    with running_simulator(sim_config(), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def app_key() -> str:
    return f"PStest{uuid.uuid4().hex}"


@pytest.fixture
def make_config(database_url: str, app_key: str) -> Callable[..., KISConfig]:
    def build(server: Any, **overrides: Any) -> KISConfig:
        config = KISConfig(
            app_key=app_key,
            app_secret=f"secret-{app_key[::-1]}",
            database_url=database_url,
            base_url=server.base_url,
            master_base_url=server.master_base_url,
            rate_limit_per_sec=20.0,
            read_timeout_seconds=2.0,
            retry=FAST_RETRY,
            token=FAST_TOKEN,
        )
        return replace(config, **overrides)

    return build


@pytest.fixture
def faulty_sim() -> Callable[..., Any]:
    """Starts a simulator with a fault spec for one test: `with faulty_sim("truncated@...=1") as s:`."""

    def start(spec: str, **overrides: Any) -> Any:
        from kis_intel_assets.simulator import FaultSpec, running_simulator

        faults = FaultSpec.parse(spec, seed=1, timeout_seconds=overrides.pop("timeout_seconds", 15.0))
        return running_simulator(sim_config(faults=faults, **overrides), host="127.0.0.1", port=0)

    return start
