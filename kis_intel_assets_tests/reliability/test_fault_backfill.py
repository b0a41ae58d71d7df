"""A backfill through Dagster while the simulator injects every transient fault kind ends with the
database exactly equal to the simulator's ground truth.

Size: 200+ symbols × 20 trading days (the issue's floor). The simulator's history starts just before the
window: the per-stock investor endpoint serves every day from the start of history, and parsing those
pages is most of the run's time.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from kis_intel_assets.defs.selection import range_tags
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec
from kis_intel_assets_tests.support.backfill_harness import (
    INGEST_ASSETS,
    RETRY_REASON_OF_FAULT,
    compare_ingest_tables,
    compare_stock_master,
    kis_resources,
    load_universe,
    materialize_with_one_rerun,
)
from kis_intel_assets_tests.support.simulators import SimulatorFactory

pytestmark = pytest.mark.faults

SYMBOLS = 210
DAYS = trading_days(date(2025, 5, 2), date(2025, 6, 2))
RATE = 100.0  # the most a key may be given (KIS grants 20/s; the simulator plays along)
CLIENT_READ_TIMEOUT = 2.0
FAULT_MIX = (
    "latency=0.01,timeout=0.004,http5xx=0.01,egw00201_500=0.01,egw00201_200=0.01,"
    "malformed=0.01,truncated=0.01,drop=0.01,token_expiry=0.004"
)
# A "timeout" fault holds the reply longer than the client waits; "latency" stays well inside it.
FAULTS = FaultSpec.parse(FAULT_MIX, seed=9, latency_seconds=0.3, timeout_seconds=CLIENT_READ_TIMEOUT + 1)


def test_a_faulty_backfill_ends_identical_to_ground_truth(
    simulator_factory: SimulatorFactory, database_url: str
) -> None:
    assert len(DAYS) >= 20
    sim = simulator_factory(
        seed=5,
        n_symbols=SYMBOLS,
        start=date(2025, 4, 28),
        end=date(2025, 6, 30),
        rate_limit_per_sec=RATE,
        faults=FAULTS,
        symbol_cache_size=SYMBOLS + 10,  # the four assets each walk the whole universe
        # Each injected expiry makes the client re-issue; KIS's 1-per-minute rule would park it for 61 s.
        token_min_interval_seconds=0.0,
    )
    resources = kis_resources(
        sim, database_url, "fault-key", rate_limit_per_sec=RATE, read_timeout_seconds=CLIENT_READ_TIMEOUT
    )

    universe = load_universe(resources)
    backfill = materialize_with_one_rerun(INGEST_ASSETS, resources, tags=range_tags(DAYS))

    injected = sim.stats.fault_counts
    retries = universe.retries_by_reason() + backfill.retries_by_reason()
    comparisons = [
        compare_stock_master(sim, database_url),
        *compare_ingest_tables(sim, database_url, DAYS[0], DAYS[-1]),
    ]
    print(f"\ninjected faults: {dict(sorted(injected.items()))}")
    print(f"client retries: {dict(sorted(retries.items()))}; re-runs: {universe.reruns + backfill.reruns}")
    print("\n".join(map(str, comparisons)))
    assert universe.success and backfill.success, universe.failures() + backfill.failures()
    assert universe.reruns + backfill.reruns <= 1
    assert len(sim.truth.symbols()) >= 200
    assert all(c.exact for c in comparisons), [str(c) for c in comparisons if not c.exact]
    assert set(injected) == {item.split("=")[0] for item in FAULT_MIX.split(",")}
    if universe.reruns + backfill.reruns == 0:  # a failed step's metadata is lost with it
        # Each injected fault costs its request one retry of the matching reason; genuine timeouts on a
        # loaded machine and threads sharing one expired token can only add to that. On a loaded machine a
        # faulty reply can also arrive after the client stopped waiting: that retry is a timeout instead,
        # so every reason's shortfall must show up as extra timeouts.
        caused: Counter[str] = Counter()
        for kind, count in injected.items():
            if kind in RETRY_REASON_OF_FAULT:
                caused[RETRY_REASON_OF_FAULT[kind]] += count
        overtaken = sum(max(0, n - retries[reason]) for reason, n in caused.items() if reason != "timeout")
        assert retries["timeout"] >= caused["timeout"] + overtaken, (caused, retries)
    assert 1 <= sim.stats.token_issuances("fault-key") <= 1 + injected["token_expiry"]
