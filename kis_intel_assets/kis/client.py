"""The KIS client the assets use: typed dataset fetchers over a transport (one app key or several).

`KISClient` knows the datasets (which TR, which parameters, publication and history rules) and returns
pandas DataFrames with the DB column names of sql/001_core_tables.sql, `time` as datetime.date objects
(object dtype), integers as int64 (nullable Int64 where the column allows NULL), rates as floats with 2
decimals, money in KRW. The wire (auth, pacing, retries, paging) is its transport's: a `KISSession` for
one app key, a `KISSessionPool` spreading calls over several (kis/pool.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from kis_intel_assets.closing import Closing
from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.kis.endpoints import ENDPOINTS, TRADE_TYPES, Endpoint, Kind
from kis_intel_assets.kis.errors import KISAPIError, KISError, KISNotPublishedError, KISPayloadError
from kis_intel_assets.kis.masters import (
    COMMON_STOCK,
    MASTER_FILES,
    MasterFile,
    master_file_day,
    parse_master,
    sector_index_code,
    short_overheat_symbols,
)
from kis_intel_assets.kis.parsing import Row
from kis_intel_assets.kis.pool import KISSessionPool
from kis_intel_assets.kis.publication import (
    BEYOND_HISTORY,
    HISTORY_MONTHS,
    UNPUBLISHED,
    ServerClock,
    UnservedDays,
    history_floor,
    is_final,
)
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.krx_calendar import trading_days


@dataclass(frozen=True)
class Market:
    name: str
    program_code: str  # FID_MRKT_CLS_CODE of FHPPG04600001
    index_code: str  # 업종 index of the whole market (FID_INPUT_ISCD with FID_COND_MRKT_DIV_CODE=U)
    investor_code: str  # FID_INPUT_ISCD_1 of FHPTJ04040000


# KIS's codes for the two markets of kis_intel_assets.markets.MARKETS.
MARKET_CODES = {
    m.name: m for m in (Market("KOSPI", "K", "0001", "KSP"), Market("KOSDAQ", "Q", "1001", "KSQ"))
}
MARKET_IDS = {"STK": "KOSPI", "KSQ": "KOSDAQ"}  # CTPF1002R mket_id_cd


@dataclass(frozen=True)
class StockInfo:
    symbol: str
    name: str
    market: str
    sector_code: str  # the unique 4-digit 업종 index code (market digit + KIS code)
    sector_name: str
    listed_shares: int
    sector_kis_code: str  # KIS's own 3-digit code, as served


def _day(value: dt.date) -> str:
    return f"{value:%Y%m%d}"


def _dtype(endpoint: Endpoint, column: str) -> str:
    spec = next(f for f in endpoint.fields if f.column == column)
    if spec.kind is Kind.INT:
        return "int64" if spec.required else "Int64"
    return "float64" if spec.kind is Kind.FLOAT else "object"


def frame(rows: list[Row], endpoint: Endpoint, keys: Mapping[str, str]) -> pd.DataFrame:
    """Rows -> DataFrame; `keys` are constant identifying columns (symbol, market...) put after `time`."""
    columns = [f.column for f in endpoint.fields]
    data: dict[str, object] = {}
    lead = [c for c in columns if c in ("time", "hour")]
    for column in lead:
        data[column] = pd.Series([row[column] for row in rows], dtype="object")
    for key, value in keys.items():
        data[key] = pd.Series([value] * len(rows), dtype="object")
    for column in columns:
        if column not in lead:
            data[column] = pd.Series([row[column] for row in rows], dtype=_dtype(endpoint, column))
    return pd.DataFrame(data)


def in_range(rows: list[Row], start: dt.date, end: dt.date) -> list[Row]:
    """De-duplicates by date (first page wins), keeps [start, end], oldest first."""
    by_day: dict[object, Row] = {}
    for row in rows:
        by_day.setdefault(row["time"], row)
    kept = [row for day, row in by_day.items() if isinstance(day, dt.date) and start <= day <= end]
    return sorted(kept, key=lambda row: row["time"])  # type: ignore[arg-type, return-value]


def _after_floor(tr_id: str, now: dt.datetime, start: dt.date) -> dt.date:
    floor = history_floor(tr_id, now)
    return max(start, floor + dt.timedelta(days=1)) if floor is not None else start


def _market(market: str, tr_id: str) -> Market:
    try:
        return MARKET_CODES[market]
    except KeyError:
        raise KISError(
            f"unknown market {market!r}; expected one of {sorted(MARKET_CODES)}", tr_id=tr_id, symbol=market
        ) from None


class Metrics(Protocol):
    """A transport's run figures: one key's ClientMetrics, or a pool's (or router's) sum of them."""

    def snapshot(self) -> dict[str, Any]:  # run metadata, like ClientMetrics.snapshot
        """The run's request, retry and wait figures (kis/metrics.py's format)."""
        ...


# The wire a KISClient fetches over: auth, pacing, retries and paging for one app key or several.
Transport = KISSession | KISSessionPool


class KISClient(Closing):
    """The KIS datasets over a transport: `with KISClient.connect(config) as kis: kis.daily_prices(...)`.

    Thread-safe as its transport is. `unavailable` records the days KIS could not serve (not published
    yet, beyond its history), which the ingest layer reports instead of failing.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.unavailable = UnservedDays()

    @classmethod
    def connect(cls, *configs: KISConfig) -> KISClient:
        """A client over one app key's KISSession, or over a KISSessionPool of several keys."""
        return cls(KISSession(configs[0]) if len(configs) == 1 else KISSessionPool(configs))

    def __repr__(self) -> str:
        return f"KISClient({self.transport!r})"

    def close(self) -> None:
        self.transport.close()

    @property
    def config(self) -> KISConfig:
        return self.transport.config

    @property
    def metrics(self) -> Metrics:
        return self.transport.metrics

    @property
    def schema_drift(self) -> SchemaDrift:
        return self.transport.schema_drift

    @property
    def server_clock(self) -> ServerClock:
        return self.transport.server_clock

    def _range(
        self, tr_id: str, params: Mapping[str, str], *, symbol: str, start: dt.date, end: dt.date
    ) -> tuple[Endpoint, list[Row]]:
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        endpoint = ENDPOINTS[tr_id]
        try:
            rows = self.transport.fetch_range(endpoint, params, symbol=symbol, start=start, end=end)
        except KISNotPublishedError as exc:
            rows = self._before_publication(endpoint, params, symbol, start, end, exc)
        return endpoint, self._final_only(tr_id, in_range(rows, start, end), start, end)

    # -- publication: a day is stored only once KIS calls it final --------------------------------------
    def _before_publication(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        symbol: str,
        start: dt.date,
        end: dt.date,
        refusal: KISNotPublishedError,
    ) -> list[Row]:
        """KIS refused the TR before its publication time: ask again for the days before today (KIS
        may serve past days); whatever stays refused is recorded as not published, not failed."""
        last = min(end, self.server_clock.now().date() - dt.timedelta(days=1))
        reason = str(refusal)
        if last >= start:
            # The window's end is the anchor of every ranged TR (FID_INPUT_DATE_1 or _2): move it back.
            shifted = {k: (_day(last) if v == _day(end) else v) for k, v in params.items()}
            try:
                rows = self.transport.fetch_range(endpoint, shifted, symbol=symbol, start=start, end=last)
            except KISNotPublishedError:
                rows = None
            if rows is not None:
                self.unavailable.record(
                    endpoint.tr_id, trading_days(last + dt.timedelta(days=1), end), UNPUBLISHED, reason
                )
                return rows
        self.unavailable.record(endpoint.tr_id, trading_days(start, end), UNPUBLISHED, reason)
        return []

    def _final_only(self, tr_id: str, rows: list[Row], start: dt.date, end: dt.date) -> list[Row]:
        """Drops rows of days that are not final yet at KIS's time (today before the close) and records
        those days, so a run before publication neither stores a running candle nor reports a gap."""
        now = self.server_clock.now()
        pending = [d for d in trading_days(start, end) if not is_final(tr_id, d, now)]
        if not pending:
            return rows
        reason = f"{tr_id}: the day is final only after the close (KIS time {now:%Y-%m-%d %H:%M} KST)"
        self.unavailable.record(tr_id, pending, UNPUBLISHED, reason)
        return [row for row in rows if row["time"] not in pending]

    def range_frame(
        self, tr_id: str, params: Mapping[str, str], key: tuple[str, str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Any registered date-ranged TR as a frame: the final days of [start, end], oldest first, with
        `key` (column, value: the symbol, market or index code asked for) after `time`. The dataset
        methods below are this with their TR's parameters."""
        column, value = key
        endpoint, rows = self._range(tr_id, params, symbol=value, start=start, end=end)
        return frame(rows, endpoint, {column: value})

    def rows_frame(self, tr_id: str, params: Mapping[str, str], key: tuple[str, str]) -> pd.DataFrame:
        """Any registered TR without a date range (today's snapshot, a ranking) as a frame, in KIS's order,
        with `key` as in range_frame."""
        column, value = key
        endpoint = ENDPOINTS[tr_id]
        return frame(self.transport.fetch_rows(endpoint, params, symbol=value), endpoint, {column: value})

    def daily_prices(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """daily_prices table rows (FHKST03010100, adjusted prices)."""
        params = {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _day(start), "FID_INPUT_DATE_2": _day(end)}
        return self.range_frame("FHKST03010100", params, ("symbol", symbol), start, end)

    def investor_trends(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """investor_trends table rows (FHPTJ04160001), amounts in KRW."""
        params = {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _day(end)}
        return self.range_frame("FHPTJ04160001", params, ("symbol", symbol), start, end)

    def short_selling(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """short_selling table rows (FHPST04830000) without the balance columns, which KIS lacks."""
        params = {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _day(start), "FID_INPUT_DATE_2": _day(end)}
        return self.range_frame("FHPST04830000", params, ("symbol", symbol), start, end)

    def stock_lending(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """stock_lending table rows (HHPST074500C0 대차거래추이): shares lent, repaid and outstanding, and the
        outstanding balance in KRW; `balance_change` and `close` come along for the checks only."""
        params = {"MKSC_SHRN_ISCD": symbol, "START_DATE": _day(start), "END_DATE": _day(end)}
        return self.range_frame("HHPST074500C0", params, ("symbol", symbol), start, end)

    def program_trading(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """program_trading table rows (FHPPG04650201, programme totals)."""
        params = {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _day(end)}
        return self.range_frame("FHPPG04650201", params, ("symbol", symbol), start, end)

    def program_trading_market(self, market: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """program_trading_market table rows (FHPPG04600001): arbitrage, non_arbitrage and total per day."""
        code = _market(market, "FHPPG04600001").program_code
        rows = self._within_history("FHPPG04600001", code, market, start, end)
        # program_trading_market keeps its own names (buy_qty …); the parsed blocks use the RFC's (buy …).
        measures = {
            "buy_qty": "buy",
            "sell_qty": "sell",
            "net_qty": "net",
            "buy_value": "buy_value",
            "sell_value": "sell_value",
            "net_value": "net_value",
        }
        records = [
            {
                "time": row["time"],
                "market": market,
                "trade_type": trade_type,
                **{m: row[f"{trade_type}_{parsed}"] for m, parsed in measures.items()},
            }
            for row in rows
            for trade_type in TRADE_TYPES.values()
        ]
        columns = ["time", "market", "trade_type", *measures]
        result = pd.DataFrame(records, columns=columns)
        return result.astype({m: "int64" for m in measures})

    def _within_history(self, tr_id: str, code: str, market: str, start: dt.date, end: dt.date) -> list[Row]:
        """FHPPG04600001 serves at most 8 months back: ask only for what it serves and record the older
        days as beyond KIS's history (whether KIS refuses or silently clips an older range is unknown)."""
        asked = start
        if self.server_clock.observed:
            asked = _after_floor(tr_id, self.server_clock.now(), start)
        rows: list[Row] = []
        if asked <= end:
            params = {
                "FID_MRKT_CLS_CODE": code,
                "FID_INPUT_DATE_1": _day(asked),
                "FID_INPUT_DATE_2": _day(end),
            }
            try:
                _, rows = self._range(tr_id, params, symbol=market, start=asked, end=end)
            except KISAPIError:
                retry = _after_floor(tr_id, self.server_clock.now(), start)
                if retry == asked:
                    raise
                return self._within_history(tr_id, code, market, start, end)
        floor = history_floor(tr_id, self.server_clock.now())
        if floor is not None and start <= floor:
            reason = (
                f"{tr_id} serves at most {HISTORY_MONTHS[tr_id]} months back (spec: 8개월 이상 과거 "
                f"조회 불가); days up to {floor} cannot be fetched from KIS"
            )
            self.unavailable.record(tr_id, trading_days(start, min(end, floor)), BEYOND_HISTORY, reason)
        return rows

    def market_days(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """KIS's own opening days (CTCA0903R 국내휴장일조회): columns time, open (bool), one row per calendar
        day. KIS answers from BASS_DT forward, so the base date moves past the newest row until `end`."""
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        endpoint = ENDPOINTS["CTCA0903R"]
        by_day: dict[object, bool] = {}
        cursor = start
        while cursor <= end:
            rows = self.transport.fetch_rows(endpoint, {"BASS_DT": _day(cursor)}, symbol=None)
            # a Row's values are a union; "time" is this endpoint's DATE field, checked just below
            newest = max((row["time"] for row in rows), default=None)  # type: ignore[type-var]
            if not isinstance(newest, dt.date) or newest < cursor:
                raise KISPayloadError(
                    tr_id=endpoint.tr_id,
                    symbol=None,
                    field="bass_dt",
                    problem=f"no day on or after BASS_DT {cursor}",
                )
            for row in rows:
                if row["open"] not in ("Y", "N"):
                    raise KISPayloadError(
                        tr_id=endpoint.tr_id,
                        symbol=None,
                        field="opnd_yn",
                        problem=f"expected Y or N, got {row['open']!r}",
                    )
                by_day.setdefault(row["time"], row["open"] == "Y")
            cursor = newest + dt.timedelta(days=1)
        # the keys are the rows' DATE field "time" (a Row's values are a union)
        days = sorted(day for day in by_day if start <= day <= end)  # type: ignore[operator, type-var]
        return pd.DataFrame(
            {
                "time": pd.Series(days, dtype="object"),
                "open": pd.Series([by_day[day] for day in days], dtype="bool"),
            }
        )

    def foreign_institution_provisional(self, market: str) -> pd.DataFrame:
        """Provisional intraday foreign/institution net-buy ranking (FHPTJ04400000); not final figures."""
        code = "0000" if market == "ALL" else _market(market, "FHPTJ04400000").index_code
        return self.rows_frame("FHPTJ04400000", {"FID_INPUT_ISCD": code}, ("market", market))

    def program_trade_intraday(self, symbol: str) -> pd.DataFrame:
        """Today's intraday programme-trading totals (FHPPG04650101), as KIS orders them."""
        return self.rows_frame("FHPPG04650101", {"FID_INPUT_ISCD": symbol}, ("symbol", symbol))

    def current_price(self, symbol: str) -> Row:
        """The current quote (FHKST01010100) as one row of typed values."""
        endpoint = ENDPOINTS["FHKST01010100"]
        (row,) = self.transport.fetch_rows(endpoint, {"FID_INPUT_ISCD": symbol}, symbol=symbol)
        return {"symbol": symbol, **row}

    def stock_info(self, symbol: str) -> StockInfo:
        """Name, market, 업종 sector and listed shares (CTPF1002R) for the stock_master table."""
        endpoint = ENDPOINTS["CTPF1002R"]
        (row,) = self.transport.fetch_rows(endpoint, {"PDNO": symbol}, symbol=symbol)
        market_id = str(row["market"])
        if market_id not in MARKET_IDS:
            raise KISPayloadError(
                tr_id=endpoint.tr_id,
                symbol=symbol,
                field="mket_id_cd",
                problem=f"unknown market id {market_id!r}",
            )
        market = MARKET_IDS[market_id]
        index_code = sector_index_code(market, str(row["sector_code"]))
        if index_code is None:
            raise KISPayloadError(
                tr_id=endpoint.tr_id,
                symbol=symbol,
                field="idx_bztp_mcls_cd",
                problem=f"not a 3-digit 업종 code: {str(row['sector_code'])[:12]!r}",
            )
        return StockInfo(
            symbol=symbol,
            name=str(row["name"]),
            market=market,
            sector_code=index_code,
            sector_name=str(row["sector_name"]),
            listed_shares=int(row["listed_shares"]),  # type: ignore[arg-type]
            sector_kis_code=str(row["sector_code"]),
        )

    def _master_file(self, master: MasterFile) -> bytes:
        url = f"{self.config.master_base_url}/{master.filename}"
        return self.transport.download(url, label=master.filename)

    def list_common_stocks(self) -> pd.DataFrame:
        """Common stocks (group "ST") of both master files: columns symbol, name, market."""
        records = []
        for master in MASTER_FILES:
            content = self._master_file(master)
            records += [
                {"symbol": e.symbol, "name": e.name, "market": master.market}
                for e in parse_master(content, master)
                if e.group == COMMON_STOCK
            ]
        return pd.DataFrame(records, columns=["symbol", "name", "market"])

    def short_overheat_designations(self) -> tuple[dt.date, pd.DataFrame]:
        """The trading day both master files describe (from the download's Date header, KIS's clock) and
        the common stocks flagged 공매도과열종목 on it: columns symbol, market."""
        days, records = set(), []
        for master in MASTER_FILES:
            content = self._master_file(master)
            days.add(master_file_day(self.server_clock.now()))
            records += [
                {"symbol": symbol, "market": master.market}
                for symbol in short_overheat_symbols(parse_master(content, master), master)
            ]
        if len(days) != 1:
            raise KISError(
                f"the master files describe different days {sorted(days)} (downloaded across "
                "their daily regeneration): download again",
                tr_id="master:both",
                symbol=None,
            )
        return days.pop(), pd.DataFrame(records, columns=["symbol", "market"])
