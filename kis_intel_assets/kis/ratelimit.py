"""Request pacing shared by every process and Dagster run that uses one app key.

KIS counts the requests that *arrive* per app key in a 1-second window (20 real, 2 paper) and answers
EGW00201 above that. Two rules, both kept in PostgreSQL so that every process shares them:

- **Slots** (sql/007): a key has N slots, N = requests per window. A request holds a slot from the moment
  it may be sent until its reply is back; the slot opens again one window after that reply. A request
  reaches the server after it was sent and before its reply, so two requests through one slot arrive at
  least a window apart and no server window can hold more than N arrivals, however the network delays
  them. This is what lets the client run at the full budget: the only cost is one round trip per slot
  turn, N / (window + latency) requests per second (19.8/s at 10 ms latency on a 20/s key).
- **Spacing** (GCRA, sql/002): consecutive sends are at least window / N apart, so an idle key does not
  release all N slots in one burst.

Why not pyrate-limiter 4.5.1's PostgresBucket (measured in benchmarks/rate_limit.py): it is a
sliding-window log of grant times, blind to arrival jitter; two processes sharing a 20/s bucket were
granted 20.9-24.8/s with 21 grants in one window (its blocking retry re-puts with a local timestamp);
it treats a busy `LOCK TABLE ... NOWAIT` as "limit reached"; it costs 4-5 round trips per admission plus a
leak thread and creates tables outside the migrations. A claim here is one function call, a release one
UPDATE; the database clock is the only clock.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import psycopg

SERVER_WINDOW_SECONDS = 1.0
ALL_SLOTS_BUSY_POLL_SECONDS = 0.01

_ENSURE_KEY_ROW = """
INSERT INTO kis_rate_limit (key_hash, tat) VALUES (%(key_hash)s, 0) ON CONFLICT (key_hash) DO NOTHING
"""
_ENSURE_SLOTS = """
INSERT INTO kis_rate_limit_slot (key_hash, slot, free_at)
SELECT %(key_hash)s, n, 0 FROM generate_series(0, %(slots)s - 1) AS n
ON CONFLICT (key_hash, slot) DO NOTHING
"""
_CLAIM = "SELECT * FROM kis_rate_limit_claim(%(key_hash)s, %(slots)s, %(spacing)s, %(lease)s, %(claim)s)"
_RELEASE = """
UPDATE kis_rate_limit_slot
   SET free_at = extract(epoch FROM clock_timestamp()) + %(window)s, claim = NULL
 WHERE key_hash = %(key_hash)s AND slot = %(slot)s AND claim = %(claim)s
"""


class Claim(NamedTuple):
    slot: int
    claim: int
    start: float  # epoch seconds on the database clock: do not send before
    now: float  # database clock when the slot was claimed

    @property
    def wait(self) -> float:
        return max(self.start - self.now, 0.0)


class PostgresRateLimiter:
    """Slots + spacing on the database for one app key; thread-safe (one connection behind a lock).

    `requests_per_window` may be fractional (a budget below the key's limit): the slots are its floor, the
    spacing its exact value. `lease_seconds` bounds how long a process that died mid-request keeps a slot.
    """

    def __init__(self, database_url: str, key_hash: str, requests_per_window: float,
                 lease_seconds: float = 30.0, window_seconds: float = SERVER_WINDOW_SECONDS) -> None:
        if requests_per_window <= 0:
            raise ValueError(f"requests_per_window must be positive, got {requests_per_window}")
        self._database_url = database_url
        self._key_hash = key_hash
        self.slots = max(1, int(requests_per_window))
        self.spacing = window_seconds / requests_per_window
        self.window = window_seconds
        self._lease = lease_seconds
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._execute(_ENSURE_KEY_ROW, {"key_hash": key_hash})
        self._execute(_ENSURE_SLOTS, {"key_hash": key_hash, "slots": self.slots})

    def __repr__(self) -> str:
        return f"PostgresRateLimiter(slots={self.slots}, spacing={self.spacing:.4f}s)"

    def _execute(self, query: str, params: dict[str, object]) -> tuple | None:
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

    def claim(self) -> Claim | None:
        """Claims the next slot on the database clock, or None when every slot has a request in flight."""
        claim_id = secrets.randbits(62)
        row = self._execute(_CLAIM, {"key_hash": self._key_hash, "slots": self.slots,
                                     "spacing": self.spacing, "lease": self._lease, "claim": claim_id})
        if row is None or row[0] is None:
            return None
        return Claim(slot=int(row[0]), claim=claim_id, start=float(row[1]), now=float(row[2]))

    def release(self, claim: Claim) -> None:
        """The reply is back: the slot opens again one window from now."""
        self._execute(_RELEASE, {"key_hash": self._key_hash, "slot": claim.slot, "claim": claim.claim,
                                 "window": self.window})

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Waits for a slot and yields the seconds waited; send one request inside. Released on exit."""
        waited = 0.0
        while (claim := self.claim()) is None:
            time.sleep(ALL_SLOTS_BUSY_POLL_SECONDS)
            waited += ALL_SLOTS_BUSY_POLL_SECONDS
        if claim.wait > 0:
            time.sleep(claim.wait)
        try:
            yield waited + claim.wait
        finally:
            self.release(claim)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
