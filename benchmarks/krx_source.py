"""Daily collection of one trading day for the whole universe, KIS only against KRX configured (investor
flows from KRX's whole-market tables, `KIS_INTEL_FLOWS_SOURCE=krx`), side by side in one run, through the
real Dagster assets: requests and seconds of each, and their ratios.

KIS is paced at its 20 requests/s; the KRX portal at the client's default 1 request/s (the portal blocks
heavy automated use). With KRX configured the day's run also takes `krx_investor_flows` and the
reconciliation check, as the daily job does in that mode. The KIS simulator runs in its own process (as
in benchmarks/ingest.py); the KRX portal simulator serves the same seeded market in this one.

Needs PostgreSQL: KIS_INTEL_BENCH_DATABASE_URL, see benchmarks/rate_limit.py.
Run: `.venv/bin/python -m benchmarks --only krx_source [--quick]`
"""

from __future__ import annotations

import copy
import time
from typing import Any

import dagster as dg

from benchmarks.ingest import (
    DAY,
    LIMIT_PER_SEC,
    QUIET,
    SYMBOL_ASSETS,
    daily_market,
    load_universe,
    simulator_process,
)
from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.ingest.checks import MARKET_TABLE
from kis_intel_assets.defs.krx.assets import krx_investor_flows
from kis_intel_assets.defs.krx.checks import CHECK_NAME, krx_checks
from kis_intel_assets.defs.krx.resources import KRXResource
from kis_intel_assets.defs.resources import resources_against
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.krx_app import DEFAULT_ACCOUNTS
from kis_intel_assets.simulator.krx_server import running_krx_simulator


def _collect(assets: list, resources: dict[str, object]) -> tuple[dict[str, dict], float, bool]:
    started = time.monotonic()
    result = dg.materialize(assets, resources=resources, partition_key=DAY, run_config=copy.deepcopy(QUIET))
    elapsed = time.monotonic() - started
    assert result.success
    metadata = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    agreed = all(e.passed for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME)
    return metadata, elapsed, agreed


def _requests(metadata: dict[str, dict], field: str) -> int:
    """Requests of the run; program_trading_market shares program_trading's step (and its count)."""
    return sum(int(m[field].value) for name, m in metadata.items() if field in m and name != MARKET_TABLE)


def run(quick: bool) -> list[dict]:
    n_symbols = 150 if quick else 2_500
    config = daily_market(n_symbols)
    login_id, password = next(iter(DEFAULT_ACCOUNTS.items()))
    with (
        scratch_database() as url,
        simulator_process(config) as base_url,
        running_krx_simulator(config) as krx_sim,
    ):
        symbols = load_universe(Simulator(config), url)

        def resources(app_key: str, krx: KRXResource | None) -> dict[str, Any]:
            return resources_against(
                base_url, url, app_key, "bench-secret", rate_limit_per_sec=LIMIT_PER_SEC, krx=krx
            )

        kis_only, kis_seconds, _ = _collect(SYMBOL_ASSETS, resources("bench-kis-only", None))
        portal = KRXResource(
            login_id=login_id, password=password, base_url=krx_sim.base_url, flows_source="krx"
        )
        with_krx, krx_seconds, agreed = _collect(
            [*SYMBOL_ASSETS, krx_investor_flows, *krx_checks],
            {**resources("bench-kis-krx", portal), "krx": portal},
        )
    kis_requests = _requests(kis_only, "requests")
    flows_kis, flows_krx = kis_only["investor_trends"], with_krx["investor_trends"]
    # investor_trends' "requests" counts both sources there; its KIS part is kis_requests.
    krx_kis = (
        _requests(with_krx, "requests")
        - int(flows_krx["requests"].value)
        + int(flows_krx["kis_requests"].value)
    )
    krx_portal = _requests(with_krx, "krx_requests")
    return [
        {
            "benchmark": f"daily collection, {symbols} symbols, KIS only",
            "value": round(kis_seconds, 1),
            "unit": "s",
            "ratio": 1.0,
            "note": f"{kis_requests} KIS requests at 20/s (4 datasets)",
        },
        {
            "benchmark": f"daily collection, {symbols} symbols, KRX configured",
            "value": round(krx_seconds, 1),
            "unit": "s",
            "ratio": round(krx_seconds / kis_seconds, 3),
            "note": f"{krx_kis} KIS + {krx_portal} KRX requests (KRX at 1/s) = "
            f"{(krx_kis + krx_portal) / kis_requests:.3f} of KIS only's; flows from KRX, "
            f"+ krx_investor_flows; reconciliation passed: {agreed}",
        },
        {
            "benchmark": f"  investor_trends alone, {symbols} symbols: KIS vs KRX",
            "value": round(float(flows_krx["seconds"].value), 1),
            "unit": "s",
            "ratio": round(float(flows_krx["seconds"].value) / float(flows_kis["seconds"].value), 3),
            "note": f"KIS only: {int(flows_kis['requests'].value)} requests in "
            f"{float(flows_kis['seconds'].value):.1f} s; KRX: {int(flows_krx['krx_requests'].value)} "
            f"+ KIS sample {int(flows_krx['kis_requests'].value)}",
        },
    ]
