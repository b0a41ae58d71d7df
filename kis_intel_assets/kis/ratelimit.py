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
- **Leases with a heartbeat** (sql/008): a claimed slot is leased for LEASE_SECONDS and the holder renews
  the lease every HEARTBEAT_SECONDS while its request is in flight, so the slots of a process that died
  come back within LEASE_SECONDS. A dead holder's last request arrived before its last heartbeat plus one
  interval, which is more than a window before the lease ends: the budget holds across the reclaim.
- **Adaptive budget** (sql/008): EGW00201 under this limiter means KIS grants the key less than its
  budget (a new customer's key gets about 3/s for its first days). Sustained refusals halve the key's
  budget in PostgreSQL, for every process at once, until KIS stops refusing; it recovers by 10 % a
  minute without refusals.
- **Outages**: a lost database connection is a wait, not a failure: claims retry with backoff for up to
  `outage_seconds`, then fail with one line naming the database; a release that cannot reach the
  database is left to the lease, so a KIS reply that already arrived is never discarded.

Why not pyrate-limiter 4.5.1's PostgresBucket (measured in benchmarks/rate_limit.py): it is a
sliding-window log of grant times, blind to arrival jitter; two processes sharing a 20/s bucket were
granted 20.9-24.8/s with 21 grants in one window (its blocking retry re-puts with a local timestamp);
it treats a busy `LOCK TABLE ... NOWAIT` as "limit reached"; it costs 4-5 round trips per admission plus a
leak thread and creates tables outside the migrations. A claim here is one function call, a release one
UPDATE; the database clock is the only clock.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NamedTuple

import psycopg

from kis_intel_assets.storage import (
    DatabaseTimeouts,
    DatabaseUnavailableError,
    database_label,
    execute_reconnecting,
)

log = logging.getLogger(__name__)

SERVER_WINDOW_SECONDS = 1.0
ALL_SLOTS_BUSY_POLL_SECONDS = 0.01
MAX_BUDGET_PER_SEC = 100.0  # no KIS key is granted more; a larger value is a typo, not a budget
LEASE_SECONDS = 4.0
HEARTBEAT_SECONDS = 1.0
OUTAGE_SECONDS = 60.0
# Sustained throttling: at least THROTTLE_SUSTAINED claims within THROTTLE_PERIOD_SECONDS, of which KIS
# refused THROTTLE_SHARE or more (a new key at 3/s under a 20/s budget refuses 85 %; injected or stray
# refusals at 30 % reach 60 % of 10 claims less than 5 % of the time, and then cost one smaller step).
THROTTLE_SUSTAINED = 10
THROTTLE_PERIOD_SECONDS = 5.0
THROTTLE_SHARE = 0.6
THROTTLE_FLOOR_PER_SEC = 1.0
RECOVER_EVERY_SECONDS = 60.0
# The limiter's statements are single-row updates: anything slower is an outage.
LIMITER_TIMEOUTS = DatabaseTimeouts(
    connect_seconds=5, statement_seconds=5, idle_in_transaction_seconds=5, grace_seconds=5
)

_ENSURE_KEY_ROW = """
INSERT INTO kis_rate_limit (key_hash, tat) VALUES (%(key_hash)s, 0) ON CONFLICT (key_hash) DO NOTHING
"""
_ENSURE_SLOTS = """
INSERT INTO kis_rate_limit_slot (key_hash, slot, free_at)
SELECT %(key_hash)s, n, 0 FROM generate_series(0, %(slots)s - 1) AS n
ON CONFLICT (key_hash, slot) DO NOTHING
"""
_CLAIM = """
SELECT * FROM kis_rate_limit_take(%(key_hash)s, %(budget)s, %(lease)s, %(claim)s, %(recover)s)
"""
_RELEASE = """
UPDATE kis_rate_limit_slot
   SET free_at = extract(epoch FROM clock_timestamp()) + %(window)s, claim = NULL
 WHERE key_hash = %(key_hash)s AND slot = %(slot)s AND claim = %(claim)s
"""
_RENEW = """
UPDATE kis_rate_limit_slot
   SET free_at = extract(epoch FROM clock_timestamp()) + %(lease)s
 WHERE key_hash = %(key_hash)s AND claim = ANY(%(claims)s)
"""
# A budget the server stated (Kiwoom's "유량=N"): in force at once for every process, never raised here;
# recovery (sql/008) then grows it back while no refusal comes, and the next refusal states it again.
_LOWER_TO = """
UPDATE kis_rate_limit
   SET budget = LEAST(COALESCE(budget, %(budget)s), %(stated)s),
       changed_at = extract(epoch FROM clock_timestamp()),
       throttled_at = extract(epoch FROM clock_timestamp())
 WHERE key_hash = %(key_hash)s
RETURNING budget
"""
_THROTTLED = """
SELECT * FROM kis_rate_limit_throttled(
    %(key_hash)s, %(budget)s, %(sustained)s, %(period)s, %(share)s, %(floor)s
)
"""


class Claim(NamedTuple):
    slot: int
    claim: int
    start: float  # epoch seconds on the database clock: do not send before
    now: float  # database clock when the slot was claimed

    @property
    def wait(self) -> float:
        return max(self.start - self.now, 0.0)


class Throttle(NamedTuple):
    """What one EGW00201 report did: the key's budget in force, and whether this report lowered it."""

    budget: float
    lowered: bool


def check_budget(requests_per_second: float, name: str = "requests_per_window") -> float:
    """The budget if it is one KIS can grant (0 < budget <= 100/s); otherwise one line naming it."""
    if not (math.isfinite(requests_per_second) and 0 < requests_per_second <= MAX_BUDGET_PER_SEC):
        raise ValueError(
            f"{name} must be a number of requests per second above 0 and at most {MAX_BUDGET_PER_SEC:g} "
            f"(KIS grants 20/s per real key, 2/s paper), got {requests_per_second!r}"
        )
    return requests_per_second


class PostgresRateLimiter:
    """Slots + spacing on the database for one app key; thread-safe (one connection behind a lock).

    `requests_per_window` may be fractional (a budget below the key's limit): the slots are its floor, the
    spacing its exact value. `lease_seconds` bounds how long a dead process keeps a slot (renewed every
    `heartbeat_seconds` while alive); `outage_seconds` how long a claim waits for a lost database.
    """

    def __init__(
        self,
        database_url: str,
        key_hash: str,
        requests_per_window: float,
        lease_seconds: float = LEASE_SECONDS,
        window_seconds: float = SERVER_WINDOW_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        outage_seconds: float = OUTAGE_SECONDS,
    ) -> None:
        self.budget = check_budget(requests_per_window)
        if not heartbeat_seconds + window_seconds < lease_seconds:
            raise ValueError(
                f"lease_seconds ({lease_seconds}) must exceed heartbeat_seconds + window_seconds "
                f"({heartbeat_seconds} + {window_seconds}): a dead holder's last request must be a window "
                "older than its lease end"
            )
        self._database_url = database_url
        self._label = database_label(database_url)
        self._key_hash = key_hash
        self.slots = max(1, int(requests_per_window))
        self.window = window_seconds
        self._lease = lease_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._outage_seconds = outage_seconds
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._held: set[int] = set()
        self._closed = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._outage_since: float | None = None
        self.budget_in_force = self.budget
        self._execute(_ENSURE_KEY_ROW, {"key_hash": key_hash})
        self._execute(_ENSURE_SLOTS, {"key_hash": key_hash, "slots": self.slots})

    def __repr__(self) -> str:
        return f"PostgresRateLimiter(slots={self.slots}, budget={self.budget_in_force:g}/s)"

    def _execute(self, query: str, params: dict[str, object]) -> tuple | None:
        """Runs one autocommit statement; reconnects once if the connection was lost."""
        with self._lock:
            self._conn, cursor = execute_reconnecting(
                self._conn, self._database_url, query, params, timeouts=LIMITER_TIMEOUTS
            )
            return cursor.fetchone() if cursor.description else None

    def _execute_riding_outages(self, query: str, params: dict[str, object]) -> tuple | None:
        """`_execute`, waiting out a lost database (restart, failover) for up to `outage_seconds`."""
        delay = 0.1
        while True:
            try:
                row = self._execute(query, params)
            except psycopg.OperationalError as exc:
                now = time.monotonic()
                if self._outage_since is None:
                    self._outage_since = now
                    log.warning(
                        "request limiter: database %s unreachable, waiting up to %.0f s: %s",
                        self._label,
                        self._outage_seconds,
                        str(exc).splitlines()[0],
                    )
                if now - self._outage_since >= self._outage_seconds:
                    raise DatabaseUnavailableError(
                        f"request limiter: database {self._label} unreachable for "
                        f"{now - self._outage_since:.0f} s: {str(exc).splitlines()[0]}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if self._outage_since is not None:
                log.warning(
                    "request limiter: database %s is back after %.1f s",
                    self._label,
                    time.monotonic() - self._outage_since,
                )
                self._outage_since = None
            return row

    def claim(self) -> Claim | None:
        """Claims the next slot on the database clock, or None when every slot has a request in flight."""
        claim_id = secrets.randbits(62)
        row = self._execute_riding_outages(
            _CLAIM,
            {
                "key_hash": self._key_hash,
                "budget": self.budget,
                "lease": self._lease,
                "claim": claim_id,
                "recover": RECOVER_EVERY_SECONDS,
            },
        )
        if row is None:
            return None
        self.budget_in_force = float(row[3])
        if row[0] is None:
            return None
        with self._lock:
            self._held.add(claim_id)
            self._start_heartbeat()
        return Claim(slot=int(row[0]), claim=claim_id, start=float(row[1]), now=float(row[2]))

    def release(self, claim: Claim) -> None:
        """The reply is back: the slot opens again one window from now.

        Never raises: when the database cannot be reached the slot keeps its lease, which ends (it is no
        longer renewed) within `lease_seconds`; the reply the caller holds is not lost.
        """
        with self._lock:
            self._held.discard(claim.claim)
        try:
            self._execute(
                _RELEASE,
                {"key_hash": self._key_hash, "slot": claim.slot, "claim": claim.claim, "window": self.window},
            )
        except psycopg.OperationalError as exc:
            log.warning(
                "request limiter: could not release slot %d on %s (its lease ends it): %s",
                claim.slot,
                self._label,
                str(exc).splitlines()[0],
            )

    def report_throttled(self) -> Throttle:
        """KIS refused a request sent through this limiter (EGW00201); see sql/008 for the rule."""
        row = self._execute_riding_outages(
            _THROTTLED,
            {
                "key_hash": self._key_hash,
                "budget": self.budget,
                "sustained": THROTTLE_SUSTAINED,
                "period": THROTTLE_PERIOD_SECONDS,
                "share": THROTTLE_SHARE,
                "floor": THROTTLE_FLOOR_PER_SEC,
            },
        )
        assert row is not None
        self.budget_in_force = float(row[0])
        return Throttle(budget=self.budget_in_force, lowered=bool(row[1]))

    def lower_to(self, stated: float) -> Throttle:
        """The server stated this key's limit (below the budget): it is the budget for every process now."""
        before = self.budget_in_force
        row = self._execute_riding_outages(
            _LOWER_TO,
            {
                "key_hash": self._key_hash,
                "budget": self.budget,
                "stated": max(stated, THROTTLE_FLOOR_PER_SEC),
            },
        )
        assert row is not None
        self.budget_in_force = float(row[0])
        return Throttle(budget=self.budget_in_force, lowered=self.budget_in_force < before)

    @property
    def at_floor(self) -> bool:
        """Whether the budget cannot be lowered further (more EGW00201 are then real failures)."""
        return self.budget_in_force <= THROTTLE_FLOOR_PER_SEC

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._heartbeat = threading.Thread(
                target=self._renew_leases, name="kis-limiter-heartbeat", daemon=True
            )
            self._heartbeat.start()

    def _renew_leases(self) -> None:
        """Every `heartbeat_seconds`, extend the leases of this process's requests in flight."""
        while not self._closed.wait(self._heartbeat_seconds):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            # In an outage the claims' own calls report it; the leases simply run out meanwhile.
            with suppress(psycopg.OperationalError):
                self._execute(_RENEW, {"key_hash": self._key_hash, "lease": self._lease, "claims": held})

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
        self._closed.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=self._heartbeat_seconds + LIMITER_TIMEOUTS.client_deadline_seconds)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
