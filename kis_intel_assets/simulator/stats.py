"""What the simulator saw and did, for tests and benchmarks. App keys appear only as fingerprints."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def fingerprint(app_key: str | None) -> str:
    """A short, stable, non-reversible label for an app key (never print the key itself)."""
    if not app_key:
        return "-"
    return "key-" + hashlib.sha256(app_key.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class RequestRecord:
    arrival: float  # time.monotonic() at arrival
    key: str  # app key fingerprint
    tr_id: str
    path: str
    status: int
    msg_cd: str
    fault: str | None = None
    fault_detail: str | None = None
    symbol: str | None = None
    rows: int = 0  # list rows served
    first_day: str | None = None  # oldest / newest stck_bsop_date in the served rows
    last_day: str | None = None
    tr_cont: str | None = None  # response tr_cont header


class SimulatorStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._tokens_issued: Counter[str] = Counter()
        self._tokens_refused: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            if record.fault:
                self._faults[record.fault] += 1

    def record_token(self, app_key: str, issued: bool) -> None:
        with self._lock:
            (self._tokens_issued if issued else self._tokens_refused)[fingerprint(app_key)] += 1

    def requests(self, app_key: str | None = None, tr_id: str | None = None) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        key = fingerprint(app_key) if app_key is not None else None
        return [r for r in records if (key is None or r.key == key) and (tr_id is None or r.tr_id == tr_id)]

    def token_issuances(self, app_key: str) -> int:
        """Successful token endpoint answers for this key (a re-issued same token counts)."""
        with self._lock:
            return self._tokens_issued[fingerprint(app_key)]

    def token_refusals(self, app_key: str) -> int:
        """EGW00133 answers (more than one issuance per minute) for this key."""
        with self._lock:
            return self._tokens_refused[fingerprint(app_key)]

    @property
    def fault_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    def requests_in_windows(self, window_seconds: float = 1.0) -> dict[str, int]:
        """Per key fingerprint: the most quotation requests that arrived within any window of this length."""
        by_key: dict[str, list[float]] = {}
        for record in self.requests():
            by_key.setdefault(record.key, []).append(record.arrival)
        return {key: max_in_window(times, window_seconds) for key, times in by_key.items()}

    def max_requests_in_window(self, app_key: str, window_seconds: float = 1.0) -> int:
        return max_in_window((r.arrival for r in self.requests(app_key)), window_seconds)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._tokens_issued.clear()
            self._tokens_refused.clear()
            self._faults.clear()


def max_in_window(stamps: Iterable[float], window: float = 1.0) -> int:
    """The most time stamps that fall within any half-open window of this length (the server's count)."""
    times = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
