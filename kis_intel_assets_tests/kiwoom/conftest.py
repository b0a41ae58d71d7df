"""Fixtures for Kiwoom client tests: one KIS simulator's market served by a Kiwoom simulator over loopback,
and a client builder per test (own app key, so token and limit state never leak between tests)."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from kis_intel_assets.kis import RetrySettings, TokenSettings
from kis_intel_assets.kiwoom import KiwoomClient, KiwoomConfig
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import KiwoomSimulator, running_kiwoom_simulator
from kis_intel_assets_tests.support.simulators import second_source_factory

START, END = dt.date(2024, 1, 2), dt.date(2024, 9, 30)
FAST_RETRY = RetrySettings(max_attempts=4, backoff_base_seconds=0.02, backoff_cap_seconds=0.2)
FAST_TOKEN = TokenSettings(issuance_retry_wait_seconds=0.1, issuance_max_attempts=3)
MARKET = SimulatorConfig(seed=7, n_symbols=12, start=START, end=END, token_min_interval_seconds=1.0)


@pytest.fixture(scope="session")
def both_sims() -> Iterator[tuple[Any, KiwoomSimulator]]:
    """A KIS simulator and a Kiwoom simulator over the same MarketModel instance."""
    with (
        running_simulator(MARKET) as kis,
        running_kiwoom_simulator(
            kis.model, KiwoomSimSettings(rate_limit_per_sec=50.0, page_size=40)
        ) as kiwoom,
    ):
        yield kis, kiwoom


@pytest.fixture(scope="session")
def kiwoom_sim(both_sims: tuple[Any, KiwoomSimulator]) -> KiwoomSimulator:
    return both_sims[1]


@pytest.fixture
def app_key() -> str:
    return f"KWtest{uuid.uuid4().hex}"


@pytest.fixture
def make_client(database_url: str, app_key: str) -> Iterator[Callable[..., KiwoomClient]]:
    clients: list[KiwoomClient] = []

    def build(server: KiwoomSimulator, **overrides: Any) -> KiwoomClient:
        config = KiwoomConfig(
            app_key=app_key,
            app_secret=f"secret-{app_key[::-1]}",
            database_url=database_url,
            base_url=server.base_url,
            rate_limit_per_sec=50.0,
            read_timeout_seconds=5.0,
            retry=FAST_RETRY,
            token=FAST_TOKEN,
            rate_limit_wait_seconds=0.02,
        )
        client = KiwoomClient(replace(config, **overrides))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def kiwoom_factory() -> Iterator[Callable[..., KiwoomSimulator]]:
    """Kiwoom simulators with other settings (same market); all stop at test end."""
    with second_source_factory(running_kiwoom_simulator, KiwoomSimSettings) as start:
        yield functools.partial(start, MARKET)
