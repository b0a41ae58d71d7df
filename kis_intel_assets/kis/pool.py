"""Several app keys behind one transport.

KIS budgets requests per app key (20/s real) and issues one token per key, so an account holder with k
keys can fetch k times faster. The pool holds one KISSession per key (each with its own token and its own
shared PostgreSQL limiter row) and sends every call to the least busy key, round-robin among equals, so a
daily run's symbols spread evenly and its duration shrinks with the number of keys. A KISClient over the
pool keeps the same dataset methods; a paged call (`fetch_rows`, `fetch_range`) stays on one key from
first to last page, because KIS continuation cursors belong to the token that opened them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from kis_intel_assets.closing import Closing
from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.kis.publication import ServerClock
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.kis.tokens import app_key_hash

Call = ParamSpec("Call")
Result = TypeVar("Result")


class PooledMetrics:
    """The per-key ClientMetrics summed, in the same snapshot format, plus how the calls were spread."""

    def __init__(self, sessions: Sequence[KISSession]) -> None:
        self._sessions = sessions

    def snapshot(self) -> dict[str, Any]:  # run metadata, like ClientMetrics.snapshot
        snapshots = [session.metrics.snapshot() for session in self._sessions]
        total: dict[str, Any] = {}
        retries: Counter[str] = Counter()
        for snapshot in snapshots:
            for name, value in snapshot.items():
                if name == "retries":
                    retries.update(value)
                else:
                    total[name] = total[name] + value if name in total else value  # numbers, lists
        total["retries"] = dict(retries)
        total["rate_limit_wait_seconds"] = round(total.get("rate_limit_wait_seconds", 0.0), 3)
        total["keys"] = len(snapshots)
        total["requests_by_key"] = [snapshot["requests"] for snapshot in snapshots]
        return total


def _on_one_key(
    method: Callable[Concatenate[KISSession, Call], Result],
) -> Callable[Concatenate[KISSessionPool, Call], Result]:
    """A pool method that runs the KISSession `method` (a whole paged call) on the least busy key."""

    @wraps(method)
    def on_one_key(pool: KISSessionPool, *args: Call.args, **kwargs: Call.kwargs) -> Result:
        with pool._lease() as session:
            return method(session, *args, **kwargs)

    return on_one_key


class KISSessionPool(Closing):
    """One KISSession per app key, each call on the least busy one; thread-safe. The sessions share one
    server clock: KIS's time does not depend on the key that asked."""

    def __init__(self, configs: Sequence[KISConfig]) -> None:
        if not configs:
            raise ValueError("a client pool needs at least one app key")
        hashes = [app_key_hash(config.app_key) for config in configs]
        for position, key_hash in enumerate(hashes):
            if key_hash in hashes[:position]:
                first = hashes.index(key_hash) + 1
                raise ValueError(f"app key #{position + 1} repeats app key #{first}; keys must be distinct")
        self.server_clock = ServerClock()
        with ExitStack() as stack:  # a session that fails to start closes the ones already started
            self.sessions: list[KISSession] = [
                stack.enter_context(KISSession(config, server_clock=self.server_clock)) for config in configs
            ]
            stack.pop_all()
        self.config = configs[0]
        self.metrics = PooledMetrics(self.sessions)
        self._in_flight = [0] * len(self.sessions)
        self._next = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KISSessionPool(keys={len(self.sessions)}, base_url={self.config.base_url!r})"

    def close(self) -> None:
        for session in self.sessions:
            session.close()

    @property
    def schema_drift(self) -> SchemaDrift:
        """Every key's drift observations in one accumulator (a fresh copy on each access)."""
        merged = SchemaDrift()
        for session in self.sessions:
            merged.merge(session.schema_drift)
        return merged

    @contextmanager
    def _lease(self) -> Iterator[KISSession]:
        """The session with the fewest calls in flight (waiting for its limiter counts), starting the
        search after the last key chosen so equally busy keys take turns."""
        with self._lock:
            count = len(self.sessions)
            candidates = [(self._next + offset) % count for offset in range(count)]
            index = min(candidates, key=self._in_flight.__getitem__)
            self._in_flight[index] += 1
            self._next = (index + 1) % count
        try:
            yield self.sessions[index]
        finally:
            with self._lock:
                self._in_flight[index] -= 1

    fetch_rows = _on_one_key(KISSession.fetch_rows)
    fetch_range = _on_one_key(KISSession.fetch_range)
    download = _on_one_key(KISSession.download)
