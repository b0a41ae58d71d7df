"""The KRX data-portal client: whole-market investor flows and short-selling balance for one trading day.

KRX is optional and off unless credentials are configured: constructing a client without them raises
KRXNotConfiguredError before anything is sent. Before any request the client checks the publication gate
(publication.py; no request for a day that is not published yet) and the circuit breaker (circuit.py; no
request while a block is in force). Parsing is strict (parsing.py): a field that is missing or not a
number fails the call with KRXPayloadError naming bld, symbol and field; nothing is read as zero.

An empty table for a day the gate allows means the portal has not published it after all: that is
KRXNotPublishedError too, with `available_from` an hour after the check (the portal gives no time).

Units (docs/krx_portal.md): volumes are shares and values KRW, as the portal reports them. (KIS reports
per-stock investor values in KRW million, so KIS x 1,000,000 and KRX differ by KIS's rounding.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta

import pandas as pd

from kis_intel_assets import krx_calendar
from kis_intel_assets.closing import Closing
from kis_intel_assets.krx import portal
from kis_intel_assets.krx.circuit import DEFAULT_HOLD
from kis_intel_assets.krx.credentials import KRXCredentials
from kis_intel_assets.krx.errors import KRXNotConfiguredError, KRXNotPublishedError
from kis_intel_assets.krx.parsing import RowReader, rows_of
from kis_intel_assets.krx.publication import (
    BALANCE_HISTORY_START,
    INVESTOR_FLOWS,
    KST,
    SHORT_BALANCE,
    PublicationGates,
)
from kis_intel_assets.krx.session import (
    DEFAULT_MAX_AGE_SECONDS,
    KRXSession,
    SessionSettings,
    Usage,
    shared_session,
)
from kis_intel_assets.markets import common_stock_isin

DEFAULT_REQUESTS_PER_SECOND = 1.0
MAX_REQUESTS_PER_SECOND = 50.0  # the simulator's tests; the portal itself should see about 1/s
MARKETS = ("KOSPI", "KOSDAQ")
FLOW_COLUMNS = ["time", "symbol", "group", "buy", "sell", "net", "buy_value", "sell_value", "net_value"]
FLOW_NUMBERS = FLOW_COLUMNS[3:]
RETAIL_TYPE = "8000"
BALANCE_COLUMNS = ["time", "symbol", "balance_volume", "balance_amount", "listed_shares", "balance_ratio"]


def _kst_now() -> datetime:
    return datetime.now(KST)


class KRXClient(Closing):
    """Context manager. One login per process: clients with equal settings and credentials share one
    session (`share_session=False` gives a client its own, as a separate process has). `request_count`
    and `requests` count the HTTP requests of this client's calls, login steps included."""

    def __init__(
        self,
        base_url: str = portal.DEFAULT_BASE_URL,
        credentials: KRXCredentials | None = None,
        database_url: str = "",
        *,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        gates: PublicationGates | None = None,
        clock: Callable[[], datetime] | None = None,
        block_hold: timedelta = DEFAULT_HOLD,
        session_max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        timeout_seconds: float = 30.0,
        share_session: bool = True,
    ) -> None:
        if credentials is None:
            raise KRXNotConfiguredError(
                "KRX is not configured (set KRX_ID and KRX_PW to enable it); no KRX request is made"
            )
        if not database_url:
            raise ValueError("KRXClient needs database_url: the circuit breaker and pacing live there")
        if not 0 < requests_per_second <= MAX_REQUESTS_PER_SECOND:
            raise ValueError(
                f"requests_per_second must be above 0 and at most {MAX_REQUESTS_PER_SECOND:g}, "
                f"got {requests_per_second!r}"
            )
        self.gates = gates or PublicationGates()
        self._clock = clock or _kst_now
        self._usage = Usage()
        settings = SessionSettings(
            base_url,
            database_url,
            requests_per_second,
            block_hold,
            session_max_age_seconds,
            timeout_seconds,
        )
        self.portal = settings.portal
        self._shared = share_session
        self._session = (
            shared_session(settings, credentials) if share_session else KRXSession(settings, credentials)
        )

    def __repr__(self) -> str:
        return f"KRXClient(portal={self.portal!r}, requests={self.request_count})"

    def close(self) -> None:
        """Closes an own session; a shared one stays for the process's other clients (closed at exit)."""
        if not self._shared:
            self._session.close()

    @property
    def request_count(self) -> int:
        """HTTP requests this client's calls sent (login steps included)."""
        return sum(self._usage.requests.values())

    @property
    def requests(self) -> Mapping[str, int]:
        """HTTP requests this client's calls sent, by bld ("login" for the login steps)."""
        return dict(self._usage.requests)

    @property
    def logins(self) -> int:
        """Logins this client's calls made (0 when a shared session was already logged in)."""
        return self._usage.logins

    def _fetch(self, bld: str, params: Mapping[str, str]) -> Mapping[str, object]:
        return self._session.fetch(bld, params, clock=self._clock, usage=self._usage)

    def _gate(self, dataset: str, day: date) -> None:
        available = self.gates.available_from(dataset, day)
        if self._clock() < available:
            raise KRXNotPublishedError(dataset, day, available)

    # -- investor flows ---------------------------------------------------------------------------------
    def investor_flows(
        self, day: date, *, markets: Iterable[str] = MARKETS, include_krx_only: bool = False
    ) -> pd.DataFrame:
        """Every stock's buying and selling per investor group on trading day `day` (long format).

        One MDCSTAT02401 request per investor type and market (12 types x 2 markets). `foreign` is
        외국인 + 기타외국인 (KIS's foreign group); `include_krx_only` adds `other_foreign` (기타외국인 alone).
        A stock missing from one type's table traded nothing with that type (the table may list only the
        stocks the type traded). A non-trading day is an empty frame without a request.
        """
        if not krx_calendar.is_trading_day(day):
            return _frame([], FLOW_COLUMNS)
        self._gate(INVESTOR_FLOWS, day)
        records: list[dict[str, object]] = []
        for market in markets:
            records += self._market_flows(day, market, include_krx_only)
        return _frame(records, FLOW_COLUMNS)

    def _market_flows(self, day: date, market: str, include_krx_only: bool) -> list[dict[str, object]]:
        # Individuals trade every stock-day: an empty 개인 table means the day is not published, and the
        # other eleven requests are not sent.
        retail = self._investor_table(day, portal.INVESTOR_MARKETS[market], RETAIL_TYPE)
        if not retail:
            raise KRXNotPublishedError(INVESTOR_FLOWS, day, self._clock() + timedelta(hours=1))
        tables = {
            code: retail
            if code == RETAIL_TYPE
            else self._investor_table(day, portal.INVESTOR_MARKETS[market], code)
            for code in portal.INVESTOR_TYPES
        }
        symbols = sorted(set().union(*tables.values()))
        zero = (0,) * len(FLOW_NUMBERS)
        records: list[dict[str, object]] = []
        for symbol in symbols:
            per_group = {
                group: tables[code].get(symbol, zero) for code, group in portal.INVESTOR_TYPES.items()
            }
            per_group["foreign"] = tuple(
                sum(parts)
                for parts in zip(
                    *(tables[code].get(symbol, zero) for code in portal.FOREIGN_TYPES), strict=True
                )
            )
            for group, values in per_group.items():
                if group in portal.KRX_ONLY_GROUPS and not include_krx_only:
                    continue
                records.append(
                    {
                        "time": day,
                        "symbol": symbol,
                        "group": group,
                        **dict(zip(FLOW_NUMBERS, values, strict=True)),
                    }
                )
        return records

    def _investor_table(self, day: date, market_id: str, type_code: str) -> dict[str, tuple[int, ...]]:
        bld = portal.INVESTOR_BLD
        body = self._fetch(
            bld,
            {
                "strtDd": portal.yyyymmdd(day),
                "endDd": portal.yyyymmdd(day),
                "mktId": market_id,
                "invstTpCd": type_code,
            },
        )
        table: dict[str, tuple[int, ...]] = {}
        for raw in rows_of(body, portal.INVESTOR_ROWS, bld):
            row = RowReader(raw, bld)
            symbol = row.symbol_code(portal.SYMBOL_FIELD)
            buy, sell = row.integer(portal.BUY_VOLUME), row.integer(portal.SELL_VOLUME)
            buy_value, sell_value = row.integer(portal.BUY_VALUE), row.integer(portal.SELL_VALUE)
            net, net_value = row.integer(portal.NET_VOLUME), row.integer(portal.NET_VALUE)
            for field, total, expected in (
                (portal.NET_VOLUME, net, buy - sell),
                (portal.NET_VALUE, net_value, buy_value - sell_value),
            ):
                if total != expected:
                    raise row.fail(field, f"{total} is not buy - sell = {expected}")
            if symbol in table:
                raise row.fail(portal.SYMBOL_FIELD, f"listed twice for invstTpCd {type_code}")
            table[symbol] = (buy, sell, net, buy_value, sell_value, net_value)
        return table

    # -- short-selling balance --------------------------------------------------------------------------
    def short_balance(self, day: date, *, markets: Iterable[str] = MARKETS) -> pd.DataFrame:
        """Every stock's short-selling balance on trading day `day` (MDCSTAT30501, one request per market).

        Not requested before the morning of T+3 (KRXNotPublishedError); a non-trading day, or one before the
        portal's history (2016-06-30), is an empty frame without a request.
        """
        if day < BALANCE_HISTORY_START or not krx_calendar.is_trading_day(day):
            return _frame([], BALANCE_COLUMNS)
        self._gate(SHORT_BALANCE, day)
        bld = portal.BALANCE_BLD
        records: list[dict[str, object]] = []
        for market in markets:
            body = self._fetch(
                bld, {"trdDd": portal.yyyymmdd(day), "mktTpCd": portal.BALANCE_MARKETS[market]}
            )
            rows = rows_of(body, portal.BALANCE_ROWS, bld)
            if not rows:  # every listed stock has a row once the day is published
                raise KRXNotPublishedError(SHORT_BALANCE, day, self._clock() + timedelta(hours=1))
            for raw in rows:
                row = RowReader(raw, bld)
                symbol = row.symbol_code(portal.BALANCE_SYMBOL)
                records.append({"time": day, "symbol": symbol, **_balance_values(row)})
        return _frame(records, BALANCE_COLUMNS)

    def short_balance_history(
        self, symbol: str, start: date, end: date, *, isin: str | None = None
    ) -> pd.DataFrame:
        """One stock's short-selling balance per trading day in [start, end] (MDCSTAT30502, one request).

        `isin` defaults to the common-stock ISIN of `symbol`; pass it for other share classes.
        """
        last_day = max(krx_calendar.trading_days(max(start, BALANCE_HISTORY_START), end), default=None)
        if last_day is None:
            return _frame([], BALANCE_COLUMNS)
        self._gate(SHORT_BALANCE, last_day)
        bld = portal.BALANCE_ONE_BLD
        body = self._fetch(
            bld,
            {
                "strtDd": portal.yyyymmdd(start),
                "endDd": portal.yyyymmdd(end),
                "isuCd": isin or common_stock_isin(symbol),  # as 30502's isuCd wants
            },
        )
        records: list[dict[str, object]] = []
        for raw in rows_of(body, portal.BALANCE_ROWS, bld):
            row = RowReader(raw, bld, symbol)
            text = row.text(portal.BALANCE_DAY)
            try:
                day = datetime.strptime(text, "%Y/%m/%d").date()
            except ValueError:
                raise row.fail(portal.BALANCE_DAY, f"not a YYYY/MM/DD date: {text[:20]!r}") from None
            records.append({"time": day, "symbol": symbol, **_balance_values(row)})
        return _frame(records, BALANCE_COLUMNS)


def _balance_values(row: RowReader) -> dict[str, object]:
    return {
        "balance_volume": row.integer(portal.BALANCE_QTY),
        "balance_amount": row.integer(portal.BALANCE_AMOUNT),
        "listed_shares": row.integer(portal.LISTED_SHARES),
        "balance_ratio": row.decimal(portal.BALANCE_RATIO, optional=True),
    }


def _frame(records: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=columns)
    for column in columns:
        if column in ("time", "symbol", "group", "balance_ratio"):
            continue
        frame[column] = frame[column].astype("int64")
    if "balance_ratio" in frame:
        frame["balance_ratio"] = frame["balance_ratio"].astype("float64")
    return frame.sort_values([c for c in ("time", "symbol", "group") if c in columns], ignore_index=True)
