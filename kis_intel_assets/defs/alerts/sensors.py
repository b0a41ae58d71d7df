"""Alert sensors: each one writes its source's new alerts to the outbox, then runs a bounded delivery pass.

Default status: every alert sensor is RUNNING, so a fresh `dagster dev` (whose daemon evaluates sensors)
alerts out of the box: on the console when no channel is configured, otherwise to Slack/Discord. They
only write to the outbox and post messages (they never launch runs), so running by default costs a
small query per interval.
- rotation_transition_alerts, concentrated_buying_alerts, short_overheat_alerts: cursor = the newest
  trading day seen in the table (a watermark); each tick re-reads that day and later ones, so rows added
  by a re-run of the latest partition alert too. On the first tick only the newest day alerts, and
  backfills of older days never do (history is not news). A backfill that catches up on missed days
  (an outage of a week, then one run for the week) alerts only its newest ALERT_DAYS trading days: the
  older ones are on the pages, not in the channel.
- asset_check_failure_alerts: failed evaluations of any severity, cursor = event storage id
  (see check_events.py), so WARN and non-blocking failures, which never fail a run, alert once each.
- run_failure_alerts: @run_failure_sensor over all code locations (the demo and the CLI launch runs
  outside the code location too); Dagster keeps its cursor.
Delivery never raises for a channel failure: the alert stays pending and the next tick (of any alert
sensor) retries it once its backoff has passed. A database failure does raise, so the tick shows it.
"""

import time
from datetime import date

import dagster as dg
import psycopg

from kis_intel_assets.alerts import TABLE_SOURCES, Alert, collect_source, run_failure_alert, write_alerts
from kis_intel_assets.alerts.producers import TableSource, latest_day
from kis_intel_assets.defs.alerts.check_events import check_failure_alerts, failed_check_evaluations
from kis_intel_assets.defs.alerts.resources import AlertsResource
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.krx_calendar import previous_trading_day

TABLE_INTERVAL_SECONDS = 60  # analytics tables change once a trading day
ALERT_DAYS = 2  # a catch-up backfill alerts the newest two trading days of the table, not every day
EVENT_INTERVAL_SECONDS = 30
MAX_STEP_ERRORS = 3


def _deliver(
    context: dg.SensorEvaluationContext | dg.RunFailureSensorContext,
    database: DatabaseResource,
    alerts: AlertsResource,
    written: int,
    what: str,
) -> str:
    report = alerts.deliver(database.resolved_url, context.log)
    return f"{written} new {what} alert(s); delivery: {report.summary()}"


def _store(database: DatabaseResource, new_alerts: list[Alert]) -> int:
    with database.connection() as conn:
        return write_alerts(conn, new_alerts)


def build_table_alert_sensor(source: TableSource) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{source.table}_alerts",
        minimum_interval_seconds=TABLE_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Alerts on new {source.table} rows (watermark: newest trading day seen).",
    )
    def _sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource, alerts: AlertsResource
    ) -> dg.SkipReason:
        since = date.fromisoformat(context.cursor) if context.cursor else None
        with database.connection() as conn:
            written, watermark = collect_source(conn, source, _recent(conn, source, since))
        if watermark:
            context.update_cursor(watermark.isoformat())
        return dg.SkipReason(_deliver(context, database, alerts, written, source.table))

    return _sensor


def _recent(conn: psycopg.Connection, source: TableSource, since: date | None) -> date | None:
    """`since`, raised to the first of the table's newest ALERT_DAYS trading days (stale days stay quiet)."""
    newest = latest_day(conn, source.table)
    if since is None or newest is None:
        return since
    floor = newest
    for _ in range(ALERT_DAYS - 1):
        floor = previous_trading_day(floor)
    return max(since, floor)


table_alert_sensors = [build_table_alert_sensor(source) for source in TABLE_SOURCES]


@dg.sensor(
    name="asset_check_failure_alerts",
    minimum_interval_seconds=EVENT_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on every failed asset-check evaluation, WARN and non-blocking ones included.",
)
def asset_check_failure_alerts(
    context: dg.SensorEvaluationContext, database: DatabaseResource, alerts: AlertsResource
) -> dg.SkipReason:
    failures, cursor = failed_check_evaluations(context.instance, context.cursor)
    written = _store(database, check_failure_alerts(context.instance, failures))
    summary = _deliver(context, database, alerts, written, "asset check failure")
    context.update_cursor(cursor)
    return dg.SkipReason(summary)


def _planned_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[dg.AssetKey]:
    """The assets the run set out to materialise (ad-hoc runs have no asset_selection of their own)."""
    planned = instance.get_asset_keys_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    return set(run.asset_selection or ()) | set(planned)


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=EVENT_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="Alerts on every failed run, with the failing steps' errors.",
)
def run_failure_alerts(
    context: dg.RunFailureSensorContext, database: DatabaseResource, alerts: AlertsResource
) -> None:
    run = context.dagster_run
    errors = [context.failure_event.message or "run failed"]
    for step_failure in context.get_step_failure_events()[:MAX_STEP_ERRORS]:
        error = step_failure.step_failure_data.error
        while error is not None and error.cause is not None:  # Dagster wraps the exception the asset raised
            error = error.cause
        if error is not None:
            errors.append(f"{step_failure.step_key}: {error.message.strip()}")
    record = context.instance.get_run_record_by_id(run.run_id)
    alert = run_failure_alert(
        run_id=run.run_id,
        job_name=run.job_name,
        error="\n".join(errors),
        failed_at=(record.end_time if record and record.end_time else None) or time.time(),
        partition=run.tags.get("dagster/partition"),
        asset_keys=sorted(key.to_user_string() for key in _planned_assets(context.instance, run)),
    )
    context.log.info(_deliver(context, database, alerts, _store(database, [alert]), "run failure"))
