"""Checks that report one result per trading-day partition, also inside a single-run backfill.

Dagster turns an AssetCheckResult into an evaluation of the step's partition, and a range run has none:
every partitioned check of a ten-day run would record one unpartitioned result while each day shows
"Skipped". These checks measure every day of the run's range and record one AssetCheckEvaluation per
day and check, each tied to that partition's latest materialization, so the UI, GraphQL and the
check-failure alerts see the day that failed.

They read only PostgreSQL, so they run in the asset's run and on their own (the checks can be subset:
select one check, or all of them without the asset, and no data is fetched again).
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import dagster as dg
import psycopg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from kis_intel_assets.defs.partitions import trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource

Facts = TypeVar("Facts")


@dataclass(frozen=True)
class DailyCheck(Generic[Facts]):
    """One check of one day: `evaluate` turns that day's measured facts into (passed, metadata)."""

    name: str
    description: str
    severity: dg.AssetCheckSeverity
    evaluate: Callable[[Facts], tuple[bool, Mapping[str, Any]]]  # (passed, Dagster metadata values)


Measure = Callable[[psycopg.Connection, Sequence[date]], Mapping[date, Facts]]


def partition_targets(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, which each day's evaluation is about."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}

    def take(keys: Sequence[str], limit: int) -> None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(keys)), limit=limit
        ).records
        for record in records:  # newest first
            partition = record.partition_key
            if partition is not None and partition not in found:
                found[partition] = _target(record)

    take(partitions, len(partitions))  # one query when each partition was last written by one run
    for partition in [p for p in partitions if p not in found]:
        take([partition], 1)
    return found


def latest_target(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The asset's latest materialization, whichever partition it was."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key), limit=1).records
    return _target(records[0]) if records else None


def _target(record: dg.EventLogRecord) -> AssetCheckEvaluationTargetMaterializationData:
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def build_daily_checks(
    asset: str,
    checks: Sequence[DailyCheck[Facts]],
    measure: Measure[Facts],
    name: str,
    additional_deps: Sequence[str] = (),
) -> dg.AssetChecksDefinition:
    """A subsettable multi-check on `asset` recording one evaluation per check and trading day;
    `additional_deps` are other assets it reads (in a run with them, it runs after them)."""
    asset_key = dg.AssetKey(asset)
    specs = [
        dg.AssetCheckSpec(
            check.name,
            asset=asset,
            partitions_def=trading_day_partitions,
            description=check.description,
            additional_deps=list(additional_deps),
        )
        for check in checks
    ]

    @dg.multi_asset_check(specs=specs, name=name, can_subset=True)
    def _checks(
        context: dg.AssetCheckExecutionContext, database: DatabaseResource
    ) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
        partitions = trading_day_partitions.get_partition_keys_in_range(context.partition_key_range)
        days = [date.fromisoformat(key) for key in partitions]
        with database.connection() as conn:
            facts = measure(conn, days)
        targets = partition_targets(context.instance, asset_key, partitions)
        assets_def = context.op_execution_context.assets_def
        for check in checks:
            check_key = dg.AssetCheckKey(asset_key, check.name)
            if check_key not in context.selected_asset_check_keys:
                continue
            failed = []
            for day, partition in zip(days, partitions, strict=True):
                passed, metadata = check.evaluate(facts[day])
                failed += [] if passed else [partition]
                yield dg.AssetCheckEvaluation(
                    asset_key=asset_key,
                    check_name=check.name,
                    passed=passed,
                    metadata=metadata,
                    target_materialization_data=targets.get(partition),
                    severity=check.severity,
                    description=check.description,
                    blocking=False,
                    partition=partition,
                )
            if failed:
                context.log.warning(f"{asset}:{check.name} failed for {len(failed)} day(s): {failed[:10]}")
            yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(check_key))

    return _checks


def failed_on_current_state(
    context: dg.AssetExecutionContext, result: dg.AssetCheckResult, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckEvaluation:
    """A failed blocking check of data that never became a materialization, as an evaluation of the
    asset's current state.

    Dagster would tie the result to the partition's previous materialization, which is not the asset's
    latest one, so the check page (where the alert links) would say "Not evaluated". The data was
    rejected against what the asset holds now, so the evaluation targets the asset's latest
    materialization (of any partition). A multi-asset names the `asset_key` whose check it is.
    """
    (spec,) = [
        s
        for s in context.assets_def.check_specs
        if s.name == result.check_name and asset_key in (None, s.asset_key)
    ]
    return dg.AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=result.passed,
        metadata=result.metadata,
        target_materialization_data=latest_target(context.instance, spec.asset_key),
        severity=result.severity,
        description=result.description,
        blocking=spec.blocking,
        partition=None,
    )
