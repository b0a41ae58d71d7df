"""Fixtures for Kiwoom client tests: one KIS simulator's market served by a Kiwoom simulator over loopback,
and a client builder per test (own app key, so token and limit state never leak between tests)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from kis_intel_assets.kiwoom import KiwoomClient, KiwoomConfig
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import KiwoomSimulator, running_kiwoom_simulator
from kis_intel_assets_tests.support.clients import FAST_RETRY, KIWOOM_FAST_TOKEN
from kis_intel_assets_tests.support.kiwoom import MARKET
from kis_intel_assets_tests.support.simulators import second_source_factory


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
            token=KIWOOM_FAST_TOKEN,
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
