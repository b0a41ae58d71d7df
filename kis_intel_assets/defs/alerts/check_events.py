"""Failed asset-check evaluations read from Dagster's event log with a storage-id cursor.

Dagster fails a run only for a blocking ERROR check, so run-failure sensors never hear about WARN or
non-blocking failures (dagster-io/dagster#29896). This reads the evaluations themselves:
- PostgreSQL (and other non-sharded) event storage: ASSET_CHECK_EVALUATION events after the cursor, in
  storage-id order, across all runs; the cursor is the last evaluation's event storage id.
- Run-sharded SQLite (the default DAGSTER_HOME, as `kis-intel demo` leaves it): storage ids are per run
  there, so the cursor is the storage id of the last run-end event in the index shard, and a finished
  run's evaluations are read from its own shard.
Cursors are prefixed with their kind, so moving an instance to another storage starts over cleanly;
the outbox's unique key absorbs any evaluation seen twice.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import dagster as dg

from kis_intel_assets.alerts import Alert, check_failure_alert

BATCH = 200
EVENTS_CURSOR, RUNS_CURSOR = "events", "runs"
RUN_END_EVENTS: Final = (  # Final keeps the members' literal types, which the records filter requires
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
PARTITION_TAG, RANGE_END_TAG = "dagster/partition", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class FailedEvaluation:
    run_id: str
    timestamp: float
    evaluation: dg.AssetCheckEvaluation


def _cursor_position(cursor: str | None, kind: str) -> int:
    prefix, _, value = (cursor or "").partition(":")
    return int(value) if prefix == kind and value.lstrip("-").isdigit() else -1


def failed_check_evaluations(
    instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[FailedEvaluation], str]:
    """Failed evaluations (any severity) after `cursor`, at most one batch, and the cursor after them."""
    storage = instance.event_log_storage
    if not storage.is_run_sharded:
        after = _cursor_position(cursor, EVENTS_CURSOR)
        entries = storage.get_logs_for_all_runs_by_log_id(
            after_cursor=after, dagster_event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=BATCH
        )
        found = [_failed(entry) for _, entry in sorted(entries.items())]
        return [f for f in found if f], f"{EVENTS_CURSOR}:{max(entries, default=after)}"

    after = _cursor_position(cursor, RUNS_CURSOR)
    finished, position = _finished_runs(instance, after)
    failed: list[FailedEvaluation] = []
    for run_id in finished:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=None
        ).records
        failed += [f for f in (_failed(r.event_log_entry) for r in records) if f]
    return failed, f"{RUNS_CURSOR}:{position}"


def _finished_runs(instance: dg.DagsterInstance, after: int) -> tuple[list[str], int]:
    """Runs that ended after index-shard storage id `after`, in order, and the new position.

    One query per end event type; when a query fills its batch, everything past its last id is left for
    the next tick, so the merged list has no gaps.
    """
    ends: list[tuple[int, str]] = []
    horizon: int | None = None
    for event_type in RUN_END_EVENTS:
        records = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type, after_storage_id=after), limit=BATCH, ascending=True
        ).records
        ends += [(r.storage_id, r.event_log_entry.run_id) for r in records]
        if len(records) == BATCH:
            last = records[-1].storage_id
            horizon = last if horizon is None else min(horizon, last)
    ends = sorted(e for e in ends if horizon is None or e[0] <= horizon)
    return [run_id for _, run_id in ends], max((e[0] for e in ends), default=after)


def _failed(entry: dg.EventLogEntry) -> FailedEvaluation | None:
    evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
    if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
        return None
    return FailedEvaluation(entry.run_id, entry.timestamp, evaluation)


def _plain_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata values as JSON-ready Python values (MetadataValue wrappers unwrapped)."""
    plain = {}
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        plain[key] = raw if isinstance(raw, (str, int, float, bool, list, dict, type(None))) else str(raw)
    return plain


def _run_day(instance: dg.DagsterInstance, run_id: str, cache: dict[str, date | None]) -> date | None:
    """The trading day a run worked on: its partition, or the end of its partition range."""
    if run_id not in cache:
        run = instance.get_run_by_id(run_id)
        tags = run.tags if run else {}
        text = tags.get(PARTITION_TAG) or tags.get(RANGE_END_TAG)
        try:
            cache[run_id] = date.fromisoformat(text) if text else None
        except ValueError:
            cache[run_id] = None
    return cache[run_id]


def check_failure_alerts(instance: dg.DagsterInstance, failures: list[FailedEvaluation]) -> list[Alert]:
    run_days: dict[str, date | None] = {}
    return [
        check_failure_alert(
            asset_path=f.evaluation.asset_key.path,
            check_name=f.evaluation.check_name,
            severity=f.evaluation.severity.value,
            run_id=f.run_id,
            evaluated_at=f.timestamp or time.time(),
            partition=f.evaluation.partition,
            description=f.evaluation.description,
            blocking=f.evaluation.blocking,
            metadata=_plain_metadata(f.evaluation.metadata),
            run_day=_run_day(instance, f.run_id, run_days),
        )
        for f in failures
    ]
