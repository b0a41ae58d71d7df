"""Thread-safe counters the client exposes for run metadata (requests, retries by reason, waits)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClientMetrics:
    requests: int = 0
    pages: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    token_issuances: int = 0
    token_refreshes: int = 0
    token_issuance_waits: int = 0
    budget_changes: list[str] = field(default_factory=list)  # "20/s -> 2.70/s" per lowering seen here
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_page(self) -> None:
        with self._lock:
            self.pages += 1

    def count_retry(self, reason: str) -> None:
        with self._lock:
            self.retries[reason] += 1

    def count_wait(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.rate_limit_waits += 1
                self.rate_limit_wait_seconds += seconds

    def count_budget_change(self, change: str) -> None:
        with self._lock:
            self.budget_changes.append(change)

    def count_token(self, event: str) -> None:
        """event: "issuance", "refresh" or "issuance_wait" (EGW00133)."""
        with self._lock:
            name = {
                "issuance": "token_issuances",
                "refresh": "token_refreshes",
                "issuance_wait": "token_issuance_waits",
            }[event]
            setattr(self, name, getattr(self, name) + 1)

    def snapshot(self) -> dict[str, Any]:  # run metadata: counts, seconds, lists
        with self._lock:
            return {
                "requests": self.requests,
                "pages": self.pages,
                "retries": dict(self.retries),
                "retries_total": sum(self.retries.values()),
                "rate_limit_waits": self.rate_limit_waits,
                "rate_limit_wait_seconds": round(self.rate_limit_wait_seconds, 3),
                "token_issuances": self.token_issuances,
                "token_refreshes": self.token_refreshes,
                "token_issuance_waits": self.token_issuance_waits,
                "rate_limit_budget_changes": list(self.budget_changes),
            }
