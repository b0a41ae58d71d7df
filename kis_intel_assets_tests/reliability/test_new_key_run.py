"""A Dagster run on a new customer's key (held by KIS, here the simulator, to a few requests per second):
the run succeeds with the true rows, its log says once that the budget was lowered, and its metadata
lists the change."""

from __future__ import annotations

import logging
from datetime import date

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import short_selling
from kis_intel_assets.defs.selection import range_tags
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets_tests.support.backfill_harness import (
    QUIET,
    compare_frames,
    kis_resources,
    load_universe,
    table_frame,
)
from kis_intel_assets_tests.support.simulators import SimulatorFactory

NEW_KEY = "brand-new-app-key"
DAYS = trading_days(date(2025, 6, 2), date(2025, 6, 13))


def test_a_run_on_a_throttled_new_key_succeeds_and_says_so_once(
    simulator_factory: SimulatorFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = simulator_factory(
        seed=9,
        n_symbols=20,
        start=date(2025, 4, 1),
        end=date(2025, 6, 30),
        new_key_rate_limit_per_sec=5,
        new_keys={NEW_KEY},
    )
    assert load_universe(kis_resources(sim, database_url, "established-key", rate_limit_per_sec=20)).success
    resources = kis_resources(sim, database_url, NEW_KEY, rate_limit_per_sec=20, fetch_workers=4)
    with caplog.at_level(logging.INFO):
        run = dg.materialize(
            [short_selling],
            resources=resources,
            tags=range_tags(DAYS),
            run_config=QUIET,
            raise_on_error=False,
        )
    assert run.success
    metadata = run.get_asset_materialization_events()[0].materialization.metadata
    changes = metadata["rate_limit_budget_changes"].value
    print(f"\nnew key at 5/s: {changes}, retries {metadata['retries_by_reason'].value}")
    assert changes and changes[0] == "20/s -> 10/s"
    assert caplog.text.count("KIS is throttling this app key") == 1
    comparison = compare_frames(
        "short_selling",
        table_frame(database_url, "short_selling"),
        sim.truth.short_selling(DAYS[0], DAYS[-1]),
        ["symbol", "time"],
    )
    assert comparison.exact, str(comparison)
