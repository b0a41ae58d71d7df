"""Alert producers: rows of the analytics tables, failed checks and failed runs → Alerts.

Table producers read every row from a given trading day on (the watermark), so a partition that is
re-materialised with an extra row alerts that row, while rows already alerted dedupe in the outbox.
History written below the watermark (a backfill of last year) deliberately does not alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from kis_intel_assets.alerts.model import Alert, AlertType, Severity, kst_day
from kis_intel_assets.alerts.outbox import write_alerts
from kis_intel_assets.storage import connect, redact_url

MAX_ERROR_CHARS = 1500
CHECK_SEVERITIES = {"WARN": Severity.WARNING, "ERROR": Severity.ERROR}

# The stock's name on the row's day (stock_master is point in time); the newest name when the master
# starts after that day.
_STOCK_NAME = """LEFT JOIN LATERAL (
        SELECT m.name FROM stock_master m WHERE m.symbol = src.symbol
         ORDER BY (m.valid_from <= src.time) DESC, m.valid_from DESC LIMIT 1) stock ON true"""

# Only signal changes (INFLOW / OUTFLOW / NEUTRAL) alert: RRG quadrant hops near the chart's centre are
# several a day across 44 sectors, which would bury the actionable ones; they stay on the rotation page.
ROTATION_QUERY = """
SELECT src.time, src.sector_code, src.kind, src.from_state, src.to_state,
       coalesce(flow.sector_name, sector.sector_name) AS sector_name,
       sig.signal, sig.score, sig.reason, sig.quadrant, sig.rs_ratio, sig.rs_momentum
  FROM rotation_transition src
  LEFT JOIN rotation_signal sig ON sig.sector_code = src.sector_code AND sig.time = src.time
  LEFT JOIN sector_rotation flow ON flow.sector_code = src.sector_code AND flow.time = src.time
  LEFT JOIN LATERAL (
        SELECT m.sector_name FROM stock_master m WHERE m.sector_code = src.sector_code
         ORDER BY (m.valid_from <= src.time) DESC, m.valid_from DESC LIMIT 1) sector ON true
 WHERE src.time >= %(since)s AND src.kind = 'signal'
 ORDER BY src.time, src.sector_code"""

CONCENTRATED_QUERY = f"""
SELECT src.time, src.symbol, stock.name, src.investor, src.net_value_5d, src.pct_of_market_cap, src.zscore,
       src.consecutive_days, src.reason
  FROM concentrated_buying src
  {_STOCK_NAME}
 WHERE src.time >= %(since)s
 ORDER BY src.time, src.symbol, src.investor"""

OVERHEAT_QUERY = f"""
SELECT src.time, src.symbol, stock.name, src.market, src.rule_type, src.price_change_pct, src.short_ratio,
       src.short_value_multiple, src.short_ratio_40d, src.ban_start, src.ban_date, src.ban_days
  FROM short_overheat src
  {_STOCK_NAME}
 WHERE src.time >= %(since)s
 ORDER BY src.time, src.symbol"""


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready values: dates as ISO strings (everything else is already str, int, float or None)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items() if k != "time"}


@dataclass(frozen=True)
class TableSource:
    """An analytics table whose new rows are alerts: one per row, about `entity_column` on the row's day,
    told apart from other alerts of that entity and day by `detail_column`."""

    alert_type: AlertType
    table: str
    query: str
    entity_column: str
    severity: Severity
    detail_column: str | None = None

    def to_alert(self, row: Mapping[str, Any]) -> Alert:
        detail = str(row[self.detail_column]) if self.detail_column else ""
        entity = row[self.entity_column]
        return Alert(self.alert_type, entity, row["time"], self.severity, _plain(row), detail)


TABLE_SOURCES = (
    TableSource(
        AlertType.ROTATION_TRANSITION,
        "rotation_transition",
        ROTATION_QUERY,
        "sector_code",
        Severity.INFO,
        detail_column="kind",
    ),
    TableSource(
        AlertType.CONCENTRATED_BUYING,
        "concentrated_buying",
        CONCENTRATED_QUERY,
        "symbol",
        Severity.INFO,
        detail_column="investor",
    ),
    TableSource(AlertType.SHORT_OVERHEAT, "short_overheat", OVERHEAT_QUERY, "symbol", Severity.WARNING),
)
SOURCE_BY_TYPE = {source.alert_type: source for source in TABLE_SOURCES}


def latest_day(conn: psycopg.Connection, table: str) -> date | None:
    row = conn.execute(sql.SQL("SELECT max(time) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None  # max() answers one row (NULL on an empty table)
    return row[0]


def table_alerts(conn: psycopg.Connection, source: TableSource, since: date) -> list[Alert]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(source.query, {"since": since})
        return [source.to_alert(row) for row in cur.fetchall()]


def collect_source(
    conn: psycopg.Connection, source: TableSource, since: date | None
) -> tuple[int, date | None]:
    """Write the alerts of rows from `since` on (default: the newest day only); returns (new alerts,
    newest day in the table), the watermark for the next call."""
    newest = latest_day(conn, source.table)
    start = since or newest
    if start is None:
        return 0, None
    written = write_alerts(conn, table_alerts(conn, source, start))
    return written, max(newest, start) if newest else start


def collect_alerts(database_url: str, since_day: date | None = None) -> int:
    """Queue the alerts of every analytics table from `since_day` on (default: each table's newest day);
    returns how many were new. Used by the demo; the sensors keep their own watermark per table."""
    with connect(database_url) as conn:
        return sum(collect_source(conn, source, since_day)[0] for source in TABLE_SOURCES)


def _iso_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def check_failure_alert(
    *,
    asset_path: Sequence[str],
    check_name: str,
    severity: str,
    run_id: str,
    evaluated_at: float,
    partition: str | None = None,
    description: str | None = None,
    blocking: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
    run_day: date | None = None,
) -> Alert:
    """A failed asset check of any severity; the trading day is the partition's, else the run's, else
    the KST day it was evaluated. One alert per check, run and partition."""
    if severity not in CHECK_SEVERITIES:
        raise ValueError(f"asset check severity must be one of {sorted(CHECK_SEVERITIES)}, got {severity!r}")
    day = _iso_day(partition) or run_day or kst_day(evaluated_at)
    payload = {
        "asset_path": list(asset_path),
        "check_name": check_name,
        "severity": severity,
        "run_id": run_id,
        "partition": partition,
        "description": description,
        "blocking": blocking,
        "metadata": dict(metadata or {}),
    }
    entity = f"{'/'.join(asset_path)}:{check_name}"
    return Alert(
        AlertType.ASSET_CHECK_FAILURE,
        entity,
        day,
        CHECK_SEVERITIES[severity],
        payload,
        detail=f"{run_id}:{partition or ''}",
    )


def run_failure_alert(
    *,
    run_id: str,
    job_name: str,
    error: str,
    failed_at: float,
    partition: str | None = None,
    asset_keys: Sequence[str] = (),
) -> Alert:
    """A failed run: one alert per run id, dated by its partition or the KST day it failed."""
    day = _iso_day(partition) or kst_day(failed_at)
    error = redact_url(error)  # an exception may quote a database URL: never send its password
    clipped = error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
    payload = {
        "run_id": run_id,
        "job_name": job_name,
        "error": clipped,
        "partition": partition,
        "asset_keys": list(asset_keys),
    }
    return Alert(AlertType.RUN_FAILURE, job_name, day, Severity.ERROR, payload, detail=run_id)
