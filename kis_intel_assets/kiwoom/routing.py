"""KIS and Kiwoom behind one KISClient, so the ingest layer can use either or both unchanged.

Only datasets Kiwoom serves with every column of the KIS table are routed (ROUTED_DATASETS); everything
else goes to KIS. With both brokers, each call goes to the broker with the fewest calls in flight per unit
of its budget (requests/s ÷ requests per symbol), so a run's symbols spread over both budgets in
proportion. A call that fails on one broker (anything but a bad payload, which is data to reject, not an
outage) is repeated on the other; after `failure_threshold` failures in a row a broker is treated as down
for the rest of the run. Every routed frame carries `source` ("KIS" / "KIWOOM").
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from kis_intel_assets.kis.client import KISClient
from kis_intel_assets.kis.errors import KISError, KISPayloadError
from kis_intel_assets.kiwoom.datasets import KiwoomClient

SOURCES = ("kis", "kiwoom", "both")
KIS, KIWOOM = "KIS", "KIWOOM"
# dataset -> requests per symbol for a daily window, per broker (KIS FHPPG04650201 one page; Kiwoom ka90013
# one call for amounts and one for quantities).
ROUTED_DATASETS: dict[str, dict[str, int]] = {"program_trading": {KIS: 1, KIWOOM: 2}}


class RoutedMetrics:
    """Both brokers' ClientMetrics summed in KIS's snapshot format, plus requests per broker."""

    def __init__(self, kis: KISClient, kiwoom: KiwoomClient) -> None:
        self._parts = {KIS: kis.metrics, KIWOOM: kiwoom.session.metrics}

    def snapshot(self) -> dict[str, Any]:  # run metadata, like ClientMetrics.snapshot
        snapshots = {name: metrics.snapshot() for name, metrics in self._parts.items()}
        total: dict[str, Any] = {}
        retries: Counter[str] = Counter()
        for snapshot in snapshots.values():
            for name, value in snapshot.items():
                if name == "retries":
                    retries.update(value)
                elif isinstance(value, list):  # e.g. rate_limit_budget_changes: every broker's, in order
                    total.setdefault(name, []).extend(value)
                elif isinstance(value, int | float):
                    total[name] = total.get(name, 0) + value
        total["retries"] = dict(retries)
        total["rate_limit_wait_seconds"] = round(total.get("rate_limit_wait_seconds", 0.0), 3)
        total["requests_by_source"] = {name: s["requests"] for name, s in snapshots.items()}
        return total


class TwoBrokerClient(KISClient):
    """A KISClient over `kis`'s transport whose datasets in ROUTED_DATASETS are routed between KIS and
    Kiwoom; every other dataset is KIS's, and both share `kis`'s record of unserved days."""

    def __init__(
        self,
        kis: KISClient,
        kiwoom: KiwoomClient,
        *,
        source: str,
        kis_rate_per_sec: float,
        kiwoom_rate_per_sec: float,
        failure_threshold: int = 3,
    ) -> None:
        if source not in ("kiwoom", "both"):
            raise ValueError(f"source must be 'kiwoom' or 'both' for two brokers, got {source!r}")
        super().__init__(kis.transport)
        self.unavailable = kis.unavailable
        self._kis = kis
        self._kiwoom = kiwoom
        self.source = source
        self._metrics = RoutedMetrics(kis, kiwoom)
        self._rates = {KIS: kis_rate_per_sec, KIWOOM: kiwoom_rate_per_sec}
        self._threshold = failure_threshold
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._failures_in_row: Counter[str] = Counter()
        self.down: set[str] = set()
        self.symbols_by_source: Counter[str] = Counter()
        self.served: dict[tuple[str, str], str] = {}  # (dataset, symbol) -> broker
        self.fallbacks = 0
        self.compared = 0

    @property
    def metrics(self) -> RoutedMetrics:
        return self._metrics

    def close(self) -> None:
        """Closes the Kiwoom client; the KIS client (and its transport) is its opener's to close."""
        self._kiwoom.close()

    def program_trading(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._routed("program_trading", symbol, start, end)

    def fetch_from(
        self, broker: str, dataset: str, symbol: str, start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """One broker's frame for a dataset (with `source`), bypassing the routing (the cross-check)."""
        frame = (
            getattr(self._kis, dataset)(symbol, start, end)
            if broker == KIS
            else pd.DataFrame(getattr(self._kiwoom, dataset)(symbol, start, end))
        )
        return frame.assign(source=broker)

    def _candidates(self, dataset: str) -> list[str]:
        """Brokers to try in order: kiwoom-only mode has no fallback; both mode prefers the least loaded."""
        if self.source == "kiwoom":
            return [KIWOOM]
        cost = ROUTED_DATASETS[dataset]
        with self._lock:
            healthy = [b for b in (KIS, KIWOOM) if b not in self.down] or [KIS, KIWOOM]
            # Expected wait for a new call; on a tie the broker with fewer calls in flight.
            order = sorted(
                healthy,
                key=lambda b: ((self._in_flight[b] + 1) * cost[b] / self._rates[b], self._in_flight[b]),
            )
            return order + [b for b in (KIS, KIWOOM) if b not in order]

    def _routed(self, dataset: str, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        last_error: KISError | None = None
        for attempt, broker in enumerate(self._candidates(dataset)):
            with self._lock:
                self._in_flight[broker] += 1
            try:
                frame = self.fetch_from(broker, dataset, symbol, start, end)
            except KISPayloadError:
                raise
            except KISError as exc:
                last_error = exc
                self._record(broker, ok=False)
                continue
            finally:
                with self._lock:
                    self._in_flight[broker] -= 1
            self._record(broker, ok=True, fallback=attempt > 0)
            with self._lock:
                self.served[(dataset, symbol)] = broker
            return frame
        assert last_error is not None
        raise last_error

    def _record(self, broker: str, *, ok: bool, fallback: bool = False) -> None:
        with self._lock:
            if ok:
                self._failures_in_row[broker] = 0
                self.symbols_by_source[broker] += 1
                self.fallbacks += fallback
                return
            self._failures_in_row[broker] += 1
            if self._failures_in_row[broker] >= self._threshold:
                self.down.add(broker)

    def cross_check(
        self, dataset: str, start: dt.date, end: dt.date, per_source: int = 1
    ) -> list[dict[str, Any]]:
        """Re-fetches `per_source` symbols served by each broker from the other one and lists every
        stock-day whose shared columns differ (empty = the brokers agree). Skips brokers that are down."""
        if self.down or self.source != "both":
            return []
        with self._lock:
            picks = {
                b: [s for (d, s), by in self.served.items() if d == dataset and by == b][:per_source]
                for b in (KIS, KIWOOM)
            }
        mismatches: list[dict[str, Any]] = []
        for broker, symbols in picks.items():
            other = KIWOOM if broker == KIS else KIS
            for symbol in symbols:
                mine = self.fetch_from(broker, dataset, symbol, start, end).drop(columns="source")
                theirs = self.fetch_from(other, dataset, symbol, start, end).drop(columns="source")
                merged = mine.merge(
                    theirs, on=["time", "symbol"], how="outer", suffixes=("", "_other"), indicator=True
                )
                for row in merged.to_dict("records"):
                    differs = [
                        c for c in mine.columns if c not in ("time", "symbol") and row[c] != row[f"{c}_other"]
                    ]
                    if row["_merge"] != "both" or differs:
                        mismatches.append(
                            {
                                "symbol": symbol,
                                "time": str(row["time"]),
                                "columns": differs,
                                "only_in": str(row["_merge"]),
                            }
                        )
        self.compared = sum(len(v) for v in picks.values())
        return mismatches

    def source_metadata(self) -> dict[str, Any]:  # run metadata, like the metrics snapshot
        with self._lock:
            return {
                "source": self.source,
                "symbols_by_source": dict(self.symbols_by_source),
                "source_fallbacks": self.fallbacks,
                "sources_down": sorted(self.down),
            }


def routed(
    kis: KISClient,
    make_kiwoom: Callable[[], KiwoomClient] | None,
    source: str,
    *,
    kis_rate_per_sec: float | None = None,
    kiwoom_rate_per_sec: float | None = None,
) -> KISClient:
    """The client a run uses: KIS itself for source "kis", else a TwoBrokerClient (which needs both rates)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "kis":
        return kis
    if make_kiwoom is None:
        raise ValueError(f"source {source!r} needs Kiwoom credentials (KIWOOM_APP_KEY / KIWOOM_APP_SECRET)")
    if kis_rate_per_sec is None or kiwoom_rate_per_sec is None:
        raise TypeError(f"source {source!r} needs kis_rate_per_sec and kiwoom_rate_per_sec")
    return TwoBrokerClient(
        kis,
        make_kiwoom(),
        source=source,
        kis_rate_per_sec=kis_rate_per_sec,
        kiwoom_rate_per_sec=kiwoom_rate_per_sec,
    )
