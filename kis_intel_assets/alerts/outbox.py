"""The alert outbox in PostgreSQL (sql/004_alerts.sql, sql/014_alert_attempts_and_pages_version.sql):
write once, deliver per channel, record every attempt.

Delivery claims one (alert, channel) row at a time (FOR UPDATE SKIP LOCKED) and, before sending, commits
a lease on it and an attempt row without an outcome: the send-before marker. Two sensors delivering at
once therefore never send the same row, and a process that dies mid-send leaves the marker behind. When
the lease has run out, the next claim settles that attempt as `unknown` and tells the delivery pass,
which asks the channel whether the message arrived (or re-sends with the same idempotency key, which
Discord's nonce turns into the same message) before posting again.
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


INTERRUPTED = "the delivering process stopped before recording the channel's answer"


@dataclass(frozen=True)
class Claim:
    stored: StoredAlert
    channel: str
    attempts: int  # including the one this claim starts
    key: str  # idempotency key: the same for every attempt of this (alert, channel)
    interrupted_at: datetime | None = None  # start of an earlier attempt whose outcome is unknown


def claim_next(
    conn: psycopg.Connection, channels: Sequence[str], now: datetime, lease: timedelta
) -> Claim | None:
    """Lease the oldest due, unleased delivery of one of `channels` and commit its attempt marker.

    Runs in its own transaction, so the marker survives a crash during the send that follows. An earlier
    attempt still without an outcome (its lease ran out) is settled as `unknown` here.
    """
    with conn.transaction():
        row = conn.execute(
            """SELECT d.alert_id, d.channel, d.attempts, d.idempotency_key, o.created_at, o.alert_type,
                      o.entity, o.trading_day, o.detail, o.severity, o.payload
                 FROM alert_delivery d JOIN alert_outbox o USING (alert_id)
                WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND d.channel = ANY(%(channels)s)
                  AND (d.lease_until IS NULL OR d.lease_until <= %(now)s)
                ORDER BY d.alert_id, d.channel
                LIMIT 1
                  FOR UPDATE OF d SKIP LOCKED""",
            {"now": now, "channels": list(channels)},
        ).fetchone()
        if row is None:
            return None
        alert_id, channel, attempts, key, created_at, alert_type, entity, day, detail, severity, payload = row
        interrupted = conn.execute(
            """UPDATE alert_attempt SET outcome = 'unknown', finished_at = %s, error = %s
                WHERE alert_id = %s AND channel = %s AND outcome IS NULL
            RETURNING started_at""",
            (now, INTERRUPTED, alert_id, channel),
        ).fetchall()
        conn.execute(
            """UPDATE alert_delivery SET attempts = attempts + 1, lease_until = %s, updated_at = %s
                WHERE alert_id = %s AND channel = %s""",
            (now + lease, now, alert_id, channel),
        )
        conn.execute(
            "INSERT INTO alert_attempt (alert_id, channel, attempt, started_at) VALUES (%s, %s, %s, %s)",
            (alert_id, channel, attempts + 1, now),
        )
    alert = Alert(AlertType(alert_type), entity, day, Severity(severity), payload, detail)
    return Claim(
        StoredAlert(alert_id, created_at, alert),
        channel,
        attempts + 1,
        key,
        min((r[0] for r in interrupted), default=None),
    )


def record_attempt(
    conn: psycopg.Connection,
    claim: Claim,
    now: datetime,
    outcome: str,
    *,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Settle the claim's attempt and its delivery in one transaction, releasing the lease.

    outcome: sent / already_sent (the channel showed an interrupted attempt's message) → sent;
    failed → failed; retry → pending again from `next_attempt_at`.
    """
    status = {"sent": "sent", "already_sent": "sent", "failed": "failed", "retry": "pending"}[outcome]
    with conn.transaction():
        conn.execute(
            """UPDATE alert_attempt SET outcome = %s, finished_at = %s, error = %s
                WHERE alert_id = %s AND channel = %s AND attempt = %s""",
            (outcome, now, error, claim.stored.alert_id, claim.channel, claim.attempts),
        )
        conn.execute(
            """UPDATE alert_delivery
                  SET status = %(status)s, lease_until = NULL, updated_at = %(now)s, last_error = %(error)s,
                      sent_at = CASE WHEN %(status)s = 'sent' THEN %(now)s END,
                      next_attempt_at = COALESCE(%(next)s, next_attempt_at)
                WHERE alert_id = %(alert_id)s AND channel = %(channel)s""",
            {
                "status": status,
                "now": now,
                "error": error,
                "next": next_attempt_at,
                "alert_id": claim.stored.alert_id,
                "channel": claim.channel,
            },
        )


def pending_count(conn: psycopg.Connection, channels: Sequence[str]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM alert_delivery WHERE status = 'pending' AND channel = ANY(%s)",
        (list(channels),),
    ).fetchone()
    assert row is not None  # count(*) answers one row
    return int(row[0])
