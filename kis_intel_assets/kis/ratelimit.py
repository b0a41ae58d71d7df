"""Request pacing shared by every process and Dagster run that uses one app key.

Choice: a minimal GCRA on PostgreSQL (table kis_rate_limit, sql/002) instead of pyrate-limiter 4.5.1's
PostgresBucket. Both keep their state in the database we already run, but the library bucket
  - is a sliding-window log that admits a full burst (20 requests at once, then a pause), so with network
    jitter the tail of one burst and the head of the next can land in the same 1-s server window;
    spacing requests evenly is what keeps every server window under the limit;
  - was not correct across processes in the benchmark: two processes sharing a 20/s bucket were granted
    20.9-24.8/s (two runs) with 21 grants in one 1-s window (its blocking retry re-puts with a locally
    advanced timestamp rather than the database clock, which is the likely cause);
  - serialises writers with `LOCK TABLE ... NOWAIT` and treats a busy lock as "limit reached", so two
    processes contending for the table are told to back off although budget is left (throughput drops);
  - costs 4-5 round trips per admission (clock, lock, windowed count, peek, insert) plus a leak thread,
    creates its own tables outside the migrations, and needs psycopg_pool, which is not installed.
The GCRA here is one `UPDATE ... RETURNING` per request: the row holds the theoretical arrival time (TAT);
each caller reserves `max(TAT, now)` and advances TAT by 1/rate, then sleeps client-side until its slot.
Row locking makes concurrent reservations from any number of processes strictly sequential, the database
clock is the only clock, and there is no burst allowance. The rate passed in already includes the safety
margin (KISConfig.rate_limit_safety, 0.90 by default, i.e. 18/s on a 20/s key, within the 15-18/s that
kis_api.md's checklist recommends): requests leave 55.6 ms apart, so a 1-s server window can only hold 21
of them if arrival jitter compresses 20 gaps by more than 110 ms. At 0.95 (52.6 ms) the two-process test
saw an occasional EGW00201 when the loaded 2-core test machine delayed the simulator's arrivals by ~50 ms.
benchmarks/rate_limit.py measures both options.
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

import psycopg

_ENSURE_ROW = "INSERT INTO kis_rate_limit (key_hash, tat) VALUES (%s, 0) ON CONFLICT (key_hash) DO NOTHING"
_RESERVE = """
UPDATE kis_rate_limit AS r
   SET tat = GREATEST(r.tat, n.now) + %(interval)s
  FROM (SELECT extract(epoch FROM clock_timestamp())::double precision AS now) AS n
 WHERE r.key_hash = %(key_hash)s
RETURNING r.tat - %(interval)s, n.now
"""

class Reservation(NamedTuple):
    slot: float  # epoch seconds on the database clock
    now: float  # database clock when the slot was claimed

    @property
    def wait(self) -> float:
        return max(self.slot - self.now, 0.0)


class PostgresRateLimiter:
    """GCRA pacing on one database row per app key; thread-safe (one connection behind a lock)."""

    def __init__(self, database_url: str, key_hash: str, rate_per_sec: float) -> None:
        if rate_per_sec <= 0:
            raise ValueError(f"rate_per_sec must be positive, got {rate_per_sec}")
        self._database_url = database_url
        self._key_hash = key_hash
        self.interval = 1.0 / rate_per_sec
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._execute(_ENSURE_ROW, (key_hash,))

    def __repr__(self) -> str:
        return f"PostgresRateLimiter(interval={self.interval:.4f}s)"

    def _execute(self, query: str, params: object) -> tuple | None:
        """Runs one autocommit statement; reconnects once if the connection was lost."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self._database_url, autocommit=True)
                    cursor = self._conn.execute(query, params)
                    return cursor.fetchone() if cursor.description else None
                except psycopg.OperationalError:
                    self._conn = None
                    if attempt == 2:
                        raise
        return None

    def reserve(self) -> Reservation:
        """Claims the next slot (database clock); the caller must not send before it."""
        row = self._execute(_RESERVE, {"interval": self.interval, "key_hash": self._key_hash})
        if row is None:
            raise RuntimeError("kis_rate_limit has no row for this app key; was the table truncated?")
        return Reservation(slot=float(row[0]), now=float(row[1]))

    def acquire(self) -> float:
        """Blocks until this caller's slot; returns the seconds waited."""
        wait = self.reserve().wait
        if wait > 0:
            time.sleep(wait)
        return wait

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
