"""Pacing is shared through PostgreSQL: two clients of one database together stay within the budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from kis_intel_assets.krx import KRXClient
from kis_intel_assets.krx.client import DEFAULT_REQUESTS_PER_SECOND
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets_tests.support.krx import DAY


def test_two_clients_share_one_budget(
    kis_sim: Simulator,
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    sim = krx_simulator_factory(kis_sim.model)
    clients = [make_client(sim, requests_per_second=5.0) for _ in range(2)]
    started = time.monotonic()
    threads = [threading.Thread(target=c.short_balance, args=(DAY,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - started
    assert sum(c.request_count for c in clients) == sim.stats.total() >= 10
    # consecutive sends of the shared key are at least 1/5 s apart, whichever client sends
    assert elapsed >= (sim.stats.total() - 1) / 5.0 * 0.95


def test_default_pace_is_one_request_per_second_and_the_budget_is_bounded(
    krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    assert DEFAULT_REQUESTS_PER_SECOND == 1.0
    for bad in (0.0, -1.0, 51.0):
        with pytest.raises(ValueError, match="requests_per_second"):
            make_client(krx_sim, requests_per_second=bad)
