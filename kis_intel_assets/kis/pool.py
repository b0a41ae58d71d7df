"""Several app keys behind one client interface.

KIS budgets requests per app key (20/s real) and issues one token per key, so an account holder with k
keys can fetch k times faster. The pool holds one KISClient per key (each with its own token and its own
shared PostgreSQL limiter row) and sends every call to the least busy key, round-robin among equals, so a
daily run's symbols spread evenly and its duration shrinks with the number of keys. Callers keep using
the same methods (`daily_prices`, `investor_trends`, …); a paged call stays on one key from first to last
page, because KIS continuation cursors belong to the token that opened them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from types import TracebackType
from typing import Any, Self

from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.datasets import KISClient
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.kis.tokens import app_key_hash


class PooledMetrics:
    """The per-key ClientMetrics summed, in the same snapshot format, plus how the calls were spread."""

    def __init__(self, clients: Sequence[KISClient]) -> None:
        self._clients = clients

    def snapshot(self) -> dict[str, Any]:
        snapshots = [client.metrics.snapshot() for client in self._clients]
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


def _dispatched(name: str) -> Callable[..., Any]:
    """A pool method that runs KISClient.<name> on the least busy key's client."""
    method = getattr(KISClient, name)

    @wraps(method)
    def call(self: KISClientPool, *args: Any, **kwargs: Any) -> Any:
        with self._lease() as client:
            return getattr(client, name)(*args, **kwargs)

    return call


class KISClientPool:
    """KISClient's fetch methods over several app keys; thread-safe."""

    def __init__(self, configs: Sequence[KISConfig]) -> None:
        if not configs:
            raise ValueError("a client pool needs at least one app key")
        hashes = [app_key_hash(config.app_key) for config in configs]
        for position, key_hash in enumerate(hashes):
            if key_hash in hashes[:position]:
                first = hashes.index(key_hash) + 1
                raise ValueError(f"app key #{position + 1} repeats app key #{first}; keys must be distinct")
        with ExitStack() as stack:  # a client that fails to start closes the ones already started
            self.clients: list[KISClient] = [stack.enter_context(KISClient(config)) for config in configs]
            stack.pop_all()
        self.config = configs[0]
        self.metrics = PooledMetrics(self.clients)
        self._in_flight = [0] * len(self.clients)
        self._next = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KISClientPool(keys={len(self.clients)}, base_url={self.config.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for client in self.clients:
            client.close()

    @property
    def schema_drift(self) -> SchemaDrift:
        """Every key's drift observations in one accumulator (a fresh copy on each access)."""
        merged = SchemaDrift()
        for client in self.clients:
            merged.merge(client.schema_drift)
        return merged

    @contextmanager
    def _lease(self) -> Iterator[KISClient]:
        """The client with the fewest calls in flight (waiting for its limiter counts), starting the
        search after the last key chosen so equally busy keys take turns."""
        with self._lock:
            count = len(self.clients)
            candidates = [(self._next + offset) % count for offset in range(count)]
            index = min(candidates, key=self._in_flight.__getitem__)
            self._in_flight[index] += 1
            self._next = (index + 1) % count
        try:
            yield self.clients[index]
        finally:
            with self._lock:
                self._in_flight[index] -= 1

    daily_prices = _dispatched("daily_prices")
    investor_trends = _dispatched("investor_trends")
    short_selling = _dispatched("short_selling")
    program_trading = _dispatched("program_trading")
    program_trading_market = _dispatched("program_trading_market")
    sector_index_daily = _dispatched("sector_index_daily")
    market_investor_daily = _dispatched("market_investor_daily")
    investor_snapshot = _dispatched("investor_snapshot")
    foreign_institution_provisional = _dispatched("foreign_institution_provisional")
    program_trade_intraday = _dispatched("program_trade_intraday")
    current_price = _dispatched("current_price")
    stock_info = _dispatched("stock_info")
    list_common_stocks = _dispatched("list_common_stocks")
    short_overheat_designations = _dispatched("short_overheat_designations")
