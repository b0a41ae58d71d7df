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
    # The limits a server stated in its refusals (Kiwoom's "유량=5, API ID=ka10080"): bucket -> requests/s.
    server_quota: dict[str, int] = field(default_factory=dict)
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

    def record_server_quota(self, bucket: str, quota: int) -> bool:
        """Records the figure a refusal stated for `bucket`; True when it is new or changed."""
        with self._lock:
            known = self.server_quota.get(bucket)
            self.server_quota[bucket] = quota
            return known != quota

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
                # a list, so the pooled and routed snapshots concatenate it like the budget changes
                "rate_limit_server_quota": [
                    f"{bucket} {quota}/s" for bucket, quota in self.server_quota.items()
                ],
            }
