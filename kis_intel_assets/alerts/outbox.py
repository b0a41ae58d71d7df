"""The alert outbox in PostgreSQL (sql/004_alerts.sql): write once, deliver per channel.

Delivery claims one (alert, channel) row at a time with FOR UPDATE SKIP LOCKED inside a transaction that
also records the result, so two sensors delivering at once never send the same row twice, and a crash
between the send and the commit costs at most one duplicate of one message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from kis_intel_assets.alerts.model import Alert, AlertType, Severity, StoredAlert


def _jsonb(payload: Any) -> Jsonb:
    return Jsonb(payload, dumps=lambda value: json.dumps(value, ensure_ascii=False, default=str))


def write_alerts(conn: psycopg.Connection, alerts: Iterable[Alert]) -> int:
    """Insert alerts not seen before; returns how many are new (already known identities are ignored)."""
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        for alert in alerts:
            cur.execute(
                """INSERT INTO alert_outbox (alert_type, entity, trading_day, detail, severity, payload)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (alert_type, entity, trading_day, detail) DO NOTHING""",
                (
                    str(alert.alert_type),
                    alert.entity,
                    alert.trading_day,
                    alert.detail,
                    str(alert.severity),
                    _jsonb(dict(alert.payload)),
                ),
            )
            written += cur.rowcount
    return written


def enroll(conn: psycopg.Connection, channels: Sequence[str], now: datetime, max_age: timedelta) -> int:
    """Give every recent alert a pending row for each channel it has none for yet.

    The age limit keeps a newly configured channel from receiving the whole history; an alert older
    than `max_age` that no channel took on is stale news and is left alone. A new row is due from the
    alert's creation, so a concurrent pass whose clock read a moment earlier still sees it.
    """
    with conn.transaction():
        cur = conn.execute(
            """INSERT INTO alert_delivery (alert_id, channel, next_attempt_at, updated_at)
               SELECT o.alert_id, c.channel, o.created_at, %(now)s
                 FROM alert_outbox o CROSS JOIN unnest(%(channels)s::text[]) AS c (channel)
                WHERE o.created_at >= %(now)s - %(max_age)s
               ON CONFLICT (alert_id, channel) DO NOTHING""",
            {"now": now, "channels": list(channels), "max_age": max_age},
        )
        return cur.rowcount


@dataclass(frozen=True)
class Claim:
    stored: StoredAlert
    channel: str
    attempts: int


def claim_next(conn: psycopg.Connection, channels: Sequence[str], now: datetime) -> Claim | None:
    """Lock the oldest due delivery of one of `channels`; call inside a transaction and record the result."""
    row = conn.execute(
        """SELECT d.alert_id, d.channel, d.attempts, o.created_at, o.alert_type, o.entity, o.trading_day,
                  o.detail, o.severity, o.payload
             FROM alert_delivery d JOIN alert_outbox o USING (alert_id)
            WHERE d.status = 'pending' AND d.next_attempt_at <= %s AND d.channel = ANY(%s)
            ORDER BY d.alert_id, d.channel
            LIMIT 1
              FOR UPDATE OF d SKIP LOCKED""",
        (now, list(channels)),
    ).fetchone()
    if row is None:
        return None
    alert_id, channel, attempts, created_at, alert_type, entity, day, detail, severity, payload = row
    alert = Alert(AlertType(alert_type), entity, day, Severity(severity), payload, detail)
    return Claim(StoredAlert(alert_id, created_at, alert), channel, attempts)


def mark_sent(conn: psycopg.Connection, claim: Claim, now: datetime) -> None:
    conn.execute(
        """UPDATE alert_delivery SET status = 'sent', attempts = attempts + 1, sent_at = %s, updated_at = %s,
                  last_error = NULL
            WHERE alert_id = %s AND channel = %s""",
        (now, now, claim.stored.alert_id, claim.channel),
    )


def mark_retry(
    conn: psycopg.Connection, claim: Claim, now: datetime, next_attempt_at: datetime, error: str
) -> None:
    conn.execute(
        """UPDATE alert_delivery SET attempts = attempts + 1, next_attempt_at = %s, last_error = %s,
                  updated_at = %s
            WHERE alert_id = %s AND channel = %s""",
        (next_attempt_at, error, now, claim.stored.alert_id, claim.channel),
    )


def mark_failed(conn: psycopg.Connection, claim: Claim, now: datetime, error: str) -> None:
    conn.execute(
        """UPDATE alert_delivery SET status = 'failed', attempts = attempts + 1, last_error = %s,
                  updated_at = %s
            WHERE alert_id = %s AND channel = %s""",
        (error, now, claim.stored.alert_id, claim.channel),
    )


def pending_count(conn: psycopg.Connection, channels: Sequence[str]) -> int:
    return conn.execute(
        "SELECT count(*) FROM alert_delivery WHERE status = 'pending' AND channel = ANY(%s)",
        (list(channels),),
    ).fetchone()[0]
