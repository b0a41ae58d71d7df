"""KIS and Kiwoom behind one KISClient, so the ingest layer can use either or both unchanged.

The datasets in ROUTED_DATASETS are routed; everything else goes to KIS. A Kiwoom row has every column
of the KIS table except the dataset's `not_from_kiwoom` ones, which no Kiwoom field gives: those are NULL
(never zero) and are not compared between the brokers. With both brokers, each call goes to the broker
with the fewest calls in flight per unit of its budget (requests/s ÷ requests per symbol), so a run's
symbols spread over both budgets in proportion. A call that fails on one broker (anything but a bad
payload, which is data to reject, not an outage) is repeated on the other; after `failure_threshold`
failures in a row a broker is treated as down for the rest of the run. Every routed frame carries
`source` ("KIS" / "KIWOOM").

A dataset with `market_lists` (programme trading: ka90004, stock lending: ka90012; each lists every stock
of a market for a day) is served by Kiwoom from those lists when the window has at most
MARKET_LIST_MAX_DAYS trading days: two markets times a few pages a day instead of calls per stock, so
Kiwoom takes the whole dataset and KIS's budget stays free. A stock a day's list leaves out, or a day whose
list is empty, is asked stock by stock (how much of the market a live list covers is not documented).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kis_intel_assets.investor_groups import FLOW_SIDES, flow_column
from kis_intel_assets.kis.client import KISClient
from kis_intel_assets.kis.errors import KISError, KISPayloadError
from kis_intel_assets.kis.parsing import Row
from kis_intel_assets.kiwoom.datasets import KiwoomClient, percent_of
from kis_intel_assets.kiwoom.endpoints import INVESTOR_GROUPS_NOT_FROM_KIWOOM
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.markets import MARKETS
from kis_intel_assets.storage import connect

SOURCES = ("kis", "kiwoom", "both")
KIS, KIWOOM = "KIS", "KIWOOM"
KEYS = ("time", "symbol")
# Up to this many trading days a window is served from Kiwoom's market lists (a daily run, a short
# catch-up); a longer backfill asks per stock, whose one call covers many days.
MARKET_LIST_MAX_DAYS = 5

# kiwoom, market, day -> every stock's row of that market-day (program_trading_all, lending_by_stock)
MarketDayFetch = Callable[[KiwoomClient, str, dt.date], list[Row]]


@dataclass(frozen=True)
class RoutedDataset:
    """What the router needs to know of a dataset both brokers serve."""

    # Requests per symbol for a daily window, per broker: the weights of the spread over the two budgets.
    # A broker missing here does not serve the dataset stock by stock (only from its market lists).
    requests_per_symbol: Mapping[str, int]
    # Table columns no Kiwoom field gives: NULL in Kiwoom rows, left out of the brokers' comparison.
    not_from_kiwoom: tuple[str, ...] = ()
    # Kiwoom's rows need the day's trading value (KRW), which no sourced Kiwoom field gives: taken from the
    # stored daily_prices (TradingValues); a stock-day without one is served by KIS.
    needs_trading_value: bool = False
    # Kiwoom's list of every stock of a market for one day, when it has one (see the module docstring).
    market_lists: MarketDayFetch | None = None


# symbol, start, end -> the stored trading value (KRW) per day of the window
TradingValues = Callable[[str, dt.date, dt.date], Mapping[dt.date, int]]


class StoredTradingValues:
    """daily_prices.trading_value of a window, read once on first use (one query, not one per stock)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._lock = threading.Lock()
        self._windows: dict[tuple[dt.date, dt.date], dict[str, dict[dt.date, int]]] = {}

    def __call__(self, symbol: str, start: dt.date, end: dt.date) -> Mapping[dt.date, int]:
        with self._lock:
            if (start, end) not in self._windows:
                with connect(self._url) as conn:
                    rows = conn.execute(
                        "SELECT symbol, time, trading_value FROM daily_prices WHERE time BETWEEN %s AND %s",
                        (start, end),
                    ).fetchall()
                window: dict[str, dict[dt.date, int]] = {}
                for code, day, value in rows:
                    window.setdefault(code, {})[day] = int(value)
                self._windows[(start, end)] = window
            return self._windows[(start, end)].get(symbol, {})


class _NotServable(Exception):
    """Kiwoom cannot complete this symbol's rows (no stored trading value): not an outage."""


class MarketLists:
    """One dataset's market-day lists, fetched once per client by the first symbol that needs the day
    (the other workers wait for it rather than ask again); a failed fetch is kept and re-raised, so one
    outage costs one retry budget, not one per stock."""

    def __init__(self, kiwoom: KiwoomClient, fetch: MarketDayFetch) -> None:
        self._kiwoom = kiwoom
        self._fetch = fetch
        self._lock = threading.Lock()
        self._day_locks: dict[dt.date, threading.Lock] = {}
        self._days: dict[dt.date, dict[str, Row] | KISError] = {}

    @property
    def days_fetched(self) -> int:
        with self._lock:
            return sum(not isinstance(rows, KISError) for rows in self._days.values())

    def day(self, day: dt.date) -> Mapping[str, Row]:
        """Every listed stock's row of the day, by symbol (both markets)."""
        with self._lock:
            day_lock = self._day_locks.setdefault(day, threading.Lock())
        with day_lock:
            if day not in self._days:
                try:
                    rows = [row for m in MARKETS for row in self._fetch(self._kiwoom, m, day)]
                except KISPayloadError:
                    raise  # bad data fails the stock that asked (and the run), it is never cached away
                except KISError as exc:
                    self._days[day] = exc
                else:
                    self._days[day] = {str(row["symbol"]): row for row in rows}
            found = self._days[day]
        if isinstance(found, KISError):
            raise found
        return found

    def window(self, symbol: str, start: dt.date, end: dt.date) -> list[Row] | None:
        """The symbol's rows of the window from the lists; None when the window is too long for lists or a
        day's list is empty or leaves the symbol out (then it is asked for stock by stock)."""
        days = trading_days(start, end)
        if not days or len(days) > MARKET_LIST_MAX_DAYS:
            return None
        rows = []
        for day in days:
            listed = self.day(day)
            if symbol not in listed:
                return None
            rows.append(listed[symbol])
        return rows


ROUTED_DATASETS: Mapping[str, RoutedDataset] = {
    # KIS FHPPG04650201: one page; Kiwoom ka90013: one call for amounts, one for quantities; for a short
    # window Kiwoom's ka90004 market lists (every stock of a market-day, paged).
    "program_trading": RoutedDataset(
        {KIS: 1, KIWOOM: 2}, market_lists=lambda kiwoom, market, day: kiwoom.program_trading_all(market, day)
    ),
    # KIS HHPST074500C0: one page; Kiwoom ka90012 lists every stock of a market-day. Kiwoom's per-stock
    # lending TR is not in the registry, so a stock a list leaves out is KIS's. balance_change / close
    # (KIS's check-only fields) have no ka90012 field.
    "stock_lending": RoutedDataset(
        {KIS: 1},
        not_from_kiwoom=("balance_change", "close"),
        market_lists=lambda kiwoom, market, day: kiwoom.lending_by_stock(market, day),
    ),
    # KIS FHPST04830000: one page; Kiwoom ka10014: one page. total_value from daily_prices; day_high /
    # day_low (KIS's check-only fields) have no ka10014 field.
    "short_selling": RoutedDataset(
        {KIS: 1, KIWOOM: 1}, not_from_kiwoom=("day_high", "day_low"), needs_trading_value=True
    ),
    # KIS FHPTJ04160001: one page (about 30 sessions back from the anchor); Kiwoom ka10059: buy and sell
    # (trde_tp 1, 2) times amount and quantity (amt_qty_tp 1, 2), one page each.
    "investor_trends": RoutedDataset(
        {KIS: 1, KIWOOM: 4},
        not_from_kiwoom=tuple(
            flow_column(group, side, unit)
            for group in INVESTOR_GROUPS_NOT_FROM_KIWOOM
            for side in FLOW_SIDES
            for unit in ("qty", "value")
        ),
    ),
}


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
        trading_values: TradingValues | None = None,
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
        self._trading_values = trading_values
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._failures_in_row: Counter[str] = Counter()
        self.down: set[str] = set()
        self.symbols_by_source: Counter[str] = Counter()
        self.served: dict[tuple[str, str], str] = {}  # (dataset, symbol) -> broker
        self._lists = {
            name: MarketLists(kiwoom, spec.market_lists)
            for name, spec in ROUTED_DATASETS.items()
            if spec.market_lists is not None
        }
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

    def investor_trends(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._routed("investor_trends", symbol, start, end)

    def short_selling(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._routed("short_selling", symbol, start, end)

    def stock_lending(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self._routed("stock_lending", symbol, start, end)

    def fetch_from(
        self, broker: str, dataset: str, symbol: str, start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """One broker's frame for a dataset (with `source`), bypassing the routing (the cross-check)."""
        if broker == KIS:
            return getattr(self._kis, dataset)(symbol, start, end).assign(source=KIS)
        listed = self._lists[dataset].window(symbol, start, end) if dataset in self._lists else None
        if listed is None and KIWOOM not in ROUTED_DATASETS[dataset].requests_per_symbol:
            raise _NotServable(symbol)  # no list row, and Kiwoom has no per-stock call for it
        frame = pd.DataFrame(
            listed if listed is not None else getattr(self._kiwoom, dataset)(symbol, start, end)
        )
        missing = {
            column: pd.array([pd.NA] * len(frame), dtype="Int64")
            for column in ROUTED_DATASETS[dataset].not_from_kiwoom
        }
        frame = frame.assign(**missing, source=KIWOOM)
        if ROUTED_DATASETS[dataset].needs_trading_value and not frame.empty:
            return self._with_trading_value(frame, symbol, start, end)
        return frame

    def _with_trading_value(
        self, frame: pd.DataFrame, symbol: str, start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """total_value from the stored daily_prices and short_value_ratio = 100 · short_amount / total_value
        (the identity KIS's ratio satisfies); _NotServable when a day has no stored value."""
        values = self._trading_values(symbol, start, end) if self._trading_values else {}
        if not set(frame["time"]) <= set(values):
            raise _NotServable(symbol)
        total = frame["time"].map(values).astype("int64")
        ratio = [percent_of(a, b) for a, b in zip(frame["short_amount"], total, strict=True)]
        return frame.assign(total_value=total, short_value_ratio=ratio)

    def _candidates(self, dataset: str, symbol: str, start: dt.date, end: dt.date) -> list[str]:
        """Brokers to try in order: kiwoom-only mode has no fallback; both mode takes Kiwoom where its
        market lists serve the symbol's window, else the least loaded broker per unit of budget."""
        if self.source == "kiwoom":
            return [KIWOOM]
        if KIWOOM not in self.down and self._listed(dataset, symbol, start, end):
            return [KIWOOM, KIS]
        cost = ROUTED_DATASETS[dataset].requests_per_symbol
        with self._lock:
            healthy = [b for b in cost if b not in self.down] or list(cost)
            # Expected wait for a new call; on a tie the broker with fewer calls in flight.
            order = sorted(
                healthy,
                key=lambda b: ((self._in_flight[b] + 1) * cost[b] / self._rates[b], self._in_flight[b]),
            )
            return order + [b for b in cost if b not in order]

    def _listed(self, dataset: str, symbol: str, start: dt.date, end: dt.date) -> bool:
        """Whether Kiwoom's market lists hold the symbol's window (a failing list fetch counts against
        Kiwoom and answers no: the symbol is routed per stock)."""
        if dataset not in self._lists:
            return False
        try:
            return self._lists[dataset].window(symbol, start, end) is not None
        except KISPayloadError:
            raise
        except KISError:
            self._record(KIWOOM, ok=False)
            return False

    def _routed(self, dataset: str, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        last_error: KISError | None = None
        skipped = 0
        for attempt, broker in enumerate(self._candidates(dataset, symbol, start, end)):
            with self._lock:
                self._in_flight[broker] += 1
            try:
                frame = self.fetch_from(broker, dataset, symbol, start, end)
            except _NotServable:
                skipped += 1
                continue  # not a failure of the broker: the other one serves this symbol
            except KISPayloadError:
                raise
            except KISError as exc:
                last_error = exc
                self._record(broker, ok=False)
                continue
            finally:
                with self._lock:
                    self._in_flight[broker] -= 1
            self._record(broker, ok=True, fallback=attempt > skipped)
            with self._lock:
                self.served[(dataset, symbol)] = broker
            return frame
        if last_error is not None:
            raise last_error
        # Kiwoom could not complete the rows and KIS was not a candidate (source "kiwoom").
        frame = self.fetch_from(KIS, dataset, symbol, start, end)
        self._record(KIS, ok=True)
        with self._lock:
            self.served[(dataset, symbol)] = KIS
        return frame

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
        stock-day whose shared columns (all but the dataset's `not_from_kiwoom`) differ (empty = the
        brokers agree). Skips brokers that are down."""
        if self.down or self.source != "both":
            return []
        with self._lock:
            picks = {
                b: [s for (d, s), by in self.served.items() if d == dataset and by == b][:per_source]
                for b in (KIS, KIWOOM)
            }
        unshared = {*KEYS, "source", *ROUTED_DATASETS[dataset].not_from_kiwoom}
        mismatches: list[dict[str, Any]] = []
        compared_symbols = 0
        for broker, symbols in picks.items():
            other = KIWOOM if broker == KIS else KIS
            for symbol in symbols:
                mine = self.fetch_from(broker, dataset, symbol, start, end)
                try:
                    theirs = self.fetch_from(other, dataset, symbol, start, end)
                except _NotServable:
                    continue
                except KISPayloadError:
                    raise
                except KISError:  # the other broker is failing: nothing to compare this symbol with
                    self._record(other, ok=False)
                    continue
                compared_symbols += 1
                compared = [c for c in mine.columns if c in theirs.columns and c not in unshared]
                merged = mine[[*KEYS, *compared]].merge(
                    theirs[[*KEYS, *compared]],
                    on=list(KEYS),
                    how="outer",
                    suffixes=("", "_other"),
                    indicator=True,
                )
                for row in merged.to_dict("records"):
                    differs = [c for c in compared if row[c] != row[f"{c}_other"]]
                    if row["_merge"] != "both" or differs:
                        mismatches.append(
                            {
                                "symbol": symbol,
                                "time": str(row["time"]),
                                "columns": differs,
                                "only_in": str(row["_merge"]),
                            }
                        )
        self.compared = compared_symbols
        return mismatches

    def source_metadata(self) -> dict[str, Any]:  # run metadata, like the metrics snapshot
        with self._lock:
            return {
                "source": self.source,
                "symbols_by_source": dict(self.symbols_by_source),
                "source_fallbacks": self.fallbacks,
                "sources_down": sorted(self.down),
                # days whose market lists Kiwoom served, per dataset
                "market_list_days": {name: lists.days_fetched for name, lists in self._lists.items()},
            }


def routed(
    kis: KISClient,
    make_kiwoom: Callable[[], KiwoomClient] | None,
    source: str,
    trading_values: TradingValues | None = None,
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
        trading_values=trading_values,
        kis_rate_per_sec=kis_rate_per_sec,
        kiwoom_rate_per_sec=kiwoom_rate_per_sec,
    )
