"""Materialize a selection of the real asset graph in-process (the demo, tests, scripts).

Passing the whole graph and selecting from it, rather than passing a few assets, keeps every upstream
asset's partitions known to the partition mappings that analytics use to read their trailing windows.
The graph is read from the domains' definitions, not from the root (which also binds the resources from
the environment): callers pass their own resources.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import dagster as dg

from kis_intel_assets.defs.analytics.definitions import analytics_defs
from kis_intel_assets.defs.ingest.definitions import ingest_defs
from kis_intel_assets.defs.krx.definitions import krx_defs
from kis_intel_assets.defs.krx.resources import KRXResource
from kis_intel_assets.defs.pages.definitions import pages_defs

# Every domain with assets or checks (alerts has sensors only); the root merges these too.
GRAPH_DOMAINS: tuple[dg.Definitions, ...] = (ingest_defs, krx_defs, analytics_defs, pages_defs)
# Runs stay fully logged in the instance; the console shows warnings only.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def range_tags(days: Sequence[date]) -> dict[str, str]:
    """Tags that make one run cover a range of partitions (assets with a single-run backfill policy)."""
    return {
        "dagster/asset_partition_range_start": days[0].isoformat(),
        "dagster/asset_partition_range_end": days[-1].isoformat(),
    }


def materialize_selection(
    keys: Sequence[str],
    resources: Mapping[str, Any],
    *,
    days: Sequence[date] | None = None,
    instance: dg.DagsterInstance | None = None,
    table_checks: bool = False,
    checks: Sequence[dg.AssetChecksDefinition] = (),
    quiet: bool = False,
    run_config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    """Materialize `keys` (with their in-asset checks; table-level checks only when asked) for `days`;
    `checks` are executed too, also with no keys at all (checks on their own, nothing materialized)."""
    all_checks = [check for domain in GRAPH_DOMAINS for check in domain.asset_checks or []]
    assets = [
        asset
        for domain in GRAPH_DOMAINS
        for asset in domain.assets or []
        # the domains hold no cacheable (deferred) assets, the one kind materialize cannot take
        if isinstance(asset, dg.AssetsDefinition | dg.AssetSpec | dg.SourceAsset)
    ]
    graph = [*assets, *all_checks]
    required = set().union(*(getattr(node, "required_resource_keys", set()) for node in graph))
    missing = required - set(resources) - {"io_manager"}  # materialize supplies the default io_manager
    resources = {key: _krx_off() if key == "krx" else _not_provided(key) for key in missing} | dict(resources)
    # A multi-asset that writes several tables (rotation_signal + rotation_transition) runs whole.
    selection: dg.AssetSelection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors()
    if not table_checks:
        selection = selection - dg.AssetSelection.checks(*all_checks)
    selection = selection | dg.AssetSelection.checks(*checks)
    return dg.materialize(
        graph,
        selection=selection,
        resources=resources,
        instance=instance,
        tags=range_tags(days) if days else None,
        run_config={**(run_config or {}), **(copy.deepcopy(QUIET_CONSOLE) if quiet else {})},
        **kwargs,
    )


def _krx_off() -> Any:
    """The KRX portal is optional: not provided means off, a valid setting (its assets are skipped)."""
    return KRXResource()


def _not_provided(key: str) -> dg.ResourceDefinition:
    """Stands in for a resource only unselected assets need; fails loudly if a selected step uses it."""

    @dg.resource
    def unavailable(_: dg.InitResourceContext) -> None:
        raise dg.Failure(description=f"resource {key!r} was not provided to this run")

    return unavailable
