"""The KRX circuit breaker: a block seen by one process stops every process for the rest of the KST day.

State lives in PostgreSQL (sql/019, table krx_circuit), keyed by portal host, so separate Dagster runs,
step processes and CLIs all respect it. A block is never retried: the portal's notice says the block lasts
a day from detection and that a new detection applies it again, so the circuit reopens at the later of the
next KST midnight and `hold` after detection (24 h by default), and an answer seen while blocked can only
push that instant later.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta

import psycopg

from kis_intel_assets.krx.errors import KRXBlockedError
from kis_intel_assets.krx.publication import KST
from kis_intel_assets.storage import execute_reconnecting

DEFAULT_HOLD = timedelta(hours=24)

_OPEN = """
INSERT INTO krx_circuit AS c (portal, opened_at, reopens_at, reason, opened_by)
VALUES (%(portal)s, %(opened_at)s, %(reopens_at)s, %(reason)s, %(opened_by)s)
ON CONFLICT (portal) DO UPDATE
   SET opened_at = EXCLUDED.opened_at,
       reason = EXCLUDED.reason,
       opened_by = EXCLUDED.opened_by,
       reopens_at = CASE WHEN c.reopens_at > EXCLUDED.opened_at
                         THEN greatest(c.reopens_at, EXCLUDED.reopens_at) ELSE EXCLUDED.reopens_at END
RETURNING reopens_at
"""
_CHECK = "SELECT reopens_at, reason FROM krx_circuit WHERE portal = %(portal)s AND reopens_at > %(now)s"


def reopening(detected: datetime, hold: timedelta = DEFAULT_HOLD) -> datetime:
    """When a block detected at `detected` lets the portal be asked again."""
    local = detected.astimezone(KST)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), KST)
    return max(next_midnight, local + hold)


class Circuit:
    """One portal's breaker; thread-safe (one autocommit connection behind a lock)."""

    def __init__(self, database_url: str, portal: str, hold: timedelta = DEFAULT_HOLD) -> None:
        self._url = database_url
        self.portal = portal
        self.hold = hold
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None

    def __repr__(self) -> str:
        return f"Circuit(portal={self.portal!r})"

    def _execute(self, query: str, params: dict[str, object]) -> tuple | None:
        with self._lock:
            self._conn, cursor = execute_reconnecting(self._conn, self._url, query, params)
            return cursor.fetchone()

    def check(self, now: datetime) -> None:
        """Raises KRXBlockedError while the circuit is open at `now`; otherwise returns."""
        row = self._execute(_CHECK, {"portal": self.portal, "now": now})
        if row is not None:
            raise KRXBlockedError(row[0].astimezone(KST), f"circuit open since a block: {row[1]}")

    def open(self, now: datetime, reason: str) -> datetime:
        """Records a block seen at `now`; returns when the circuit reopens (never earlier than before)."""
        row = self._execute(
            _OPEN,
            {
                "portal": self.portal,
                "opened_at": now,
                "reopens_at": reopening(now, self.hold),
                "reason": reason[:300],
                "opened_by": f"{socket.gethostname()}:{os.getpid()}",
            },
        )
        if row is None:  # INSERT ... RETURNING always answers one row
            raise RuntimeError("krx_circuit: the block was not recorded")
        return row[0].astimezone(KST)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
