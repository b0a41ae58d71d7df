"""A logged-in plain-HTTP caller for the simulator's own protocol tests."""

from collections.abc import Iterator

import pytest

from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.simulator.kis_http import KisHttp


@pytest.fixture(scope="module")
def kis(simulator: Simulator) -> Iterator[KisHttp]:
    """One logged-in caller per module (KIS allows one token issuance per minute per key)."""
    caller = KisHttp(simulator).login()
    yield caller
    caller.client.close()
