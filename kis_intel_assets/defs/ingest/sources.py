"""Which broker served a run's rows, and the `sources_agree` check: where KIS and Kiwoom both served the
same stock-day (a sample the router re-fetches from the other broker), every shared column must agree."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

from kis_intel_assets.kiwoom.routing import TwoBrokerClient

SOURCES_CHECK = "sources_agree"
MISMATCHES_SHOWN = 20


def sources_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SOURCES_CHECK,
        asset=asset,
        description="KIS and Kiwoom agree on the stock-days both served (source = both)",
    )


def source_metadata(client: Any) -> dict[str, dg.RawMetadataValue]:
    if not isinstance(client, TwoBrokerClient):
        return {"source": "kis"}
    meta = client.source_metadata()
    return {
        **meta,
        "symbols_by_source": dg.MetadataValue.json(meta["symbols_by_source"]),
        "sources_down": dg.MetadataValue.json(meta["sources_down"]),
        "market_list_days": dg.MetadataValue.json(meta["market_list_days"]),
    }


def sources_result(client: Any, dataset: str, start: date, end: date) -> dg.AssetCheckResult:
    """The check on the asset named like its dataset."""
    if not isinstance(client, TwoBrokerClient) or client.source != "both":
        return dg.AssetCheckResult(
            check_name=SOURCES_CHECK,
            asset_key=dataset,
            passed=True,
            metadata={"compared_symbols": 0, "reason": "one source configured"},
        )
    mismatches = client.cross_check(dataset, start, end)
    return dg.AssetCheckResult(
        check_name=SOURCES_CHECK,
        asset_key=dataset,
        passed=not mismatches,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(mismatches)} stock-day(s) differ between KIS and Kiwoom" if mismatches else None,
        metadata={
            "compared_symbols": client.compared,
            "sources_down": dg.MetadataValue.json(sorted(client.down)),
            "mismatches": dg.MetadataValue.json(mismatches[:MISMATCHES_SHOWN]),
        },
    )
