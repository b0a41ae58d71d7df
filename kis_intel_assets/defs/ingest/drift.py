"""The `schema_drift` asset check: a non-blocking warning when KIS responses carried fields the registry
and the accepted baseline do not know, or lacked registered ones.

New fields break nothing, so the run stays successful; the warning is the prompt to run
`kis-intel discover` and decide whether a field was renamed. A missing registered field also fails the
blocking `schema_valid` check through the parser, so this check only adds which rows were affected.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from kis_intel_assets.kis import KISClient

SCHEMA_DRIFT_CHECK = "schema_drift"
FIELDS_SHOWN = 10


def schema_drift_spec(asset: str) -> dg.AssetCheckSpec:
    """Declare on an ingest asset (`check_specs=[..., schema_drift_spec(name)]`)."""
    return dg.AssetCheckSpec(
        SCHEMA_DRIFT_CHECK,
        asset=asset,
        blocking=False,
        description="KIS rows carried only known fields and every registered one (warns; run "
        "`kis-intel discover` to see the full response schema)",
    )


def schema_drift_result(
    client: KISClient, asset_key: str | None = None, tr_ids: Sequence[str] | None = None
) -> dg.AssetCheckResult:
    """What the client saw during this run (of `tr_ids` only, when given), as the check's result (WARN when
    anything drifted); `asset_key` names the asset in a multi-asset."""
    report = {
        tr_id: entry
        for tr_id, entry in client.schema_drift.report().items()
        if tr_ids is None or tr_id in tr_ids
    }
    drifted = {tr_id: entry for tr_id, entry in report.items() if entry["new"] or entry["missing"]}
    rows = sum(entry["rows"] for entry in report.values())
    if drifted:
        parts = [
            f"{tr_id}: {_names('new', entry['new'])}{_names('missing', entry['missing'])}".rstrip("; ")
            for tr_id, entry in drifted.items()
        ]
        description = "schema drift in " + " | ".join(parts)
    else:
        description = f"{rows} rows from {len(report)} TR ID(s), all fields as expected"
    return dg.AssetCheckResult(
        check_name=SCHEMA_DRIFT_CHECK,
        asset_key=asset_key,
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "rows_observed": rows,
            "tr_ids": dg.MetadataValue.json(sorted(report)),
            "drift": dg.MetadataValue.json(drifted),
        },
    )


def _names(label: str, counts: dict[str, int]) -> str:
    if not counts:
        return ""
    names = sorted(counts)
    more = f" (+{len(names) - FIELDS_SHOWN} more)" if len(names) > FIELDS_SHOWN else ""
    return f"{label} {', '.join(names[:FIELDS_SHOWN])}{more}; "
