"""Low-level KIS calls: auth headers, shared pacing, retries, error classification and paging.

Transient failures (EGW00201 with HTTP 500 or HTTP 200, 5xx, timeouts, dropped connections, invalid or
truncated JSON) are retried with bounded exponential backoff and full jitter, then raised as
KISTransientError; EGW00123/EGW00121 (expired/invalid token) refresh the shared token once and retry
once; any other rt_cd != "0" is a KISAPIError. Every request, retry included, passes the shared limiter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from kis_intel_assets.kis.config import MARKET_DIVISIONS, KISConfig
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.kis.endpoints import Endpoint, Paging
from kis_intel_assets.kis.errors import (
    KISAPIError,
    KISError,
    KISNotPublishedError,
    KISPayloadError,
)
from kis_intel_assets.kis.http import PacedHTTP, Transient, json_object
from kis_intel_assets.kis.parsing import Row, extract_rows, parse_rows
from kis_intel_assets.kis.publication import FINAL_AFTER, ServerClock
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.tokens import AccessToken, TokenProvider, app_key_hash

log = logging.getLogger(__name__)

RATE_LIMITED = "EGW00201"
TOKEN_EXPIRED = {"EGW00123", "EGW00121"}
MORE_PAGES = {"F", "M"}
GATEWAY_ERRORS = {502, 503, 504}
ONE_DAY = dt.timedelta(days=1)
MARKET_DIVISION = "FID_COND_MRKT_DIV_CODE"
NO_DATA = "7"  # rt_cd "7" / KIOK0560 조회할 자료가 없습니다: no rows, not an error
NO_DATA_MESSAGES = {"KIOK0560"}  # the same answer under another rt_cd
TIME_LIMIT = "TIME LIMIT"  # msg1 of a TR refused before its publication time
# EGW00201 retries of one call that do not count as failures while the budget adapts (each one is
# reported, and a few lower the budget down to its floor long before this many).
MAX_THROTTLED_RETRIES = 30


@dataclass(frozen=True)
class Page:
    body: Mapping[str, Any]
    tr_cont: str
    no_data: bool = False


class KISSession(PacedHTTP):
    """One app key: its HTTP connection pool, token provider and shared limiter; thread-safe."""

    def __init__(self, config: KISConfig, *, server_clock: ServerClock | None = None) -> None:
        """`server_clock`: the clock this session's responses set (the sessions of a pool share one)."""
        super().__init__(
            PostgresRateLimiter(
                config.database_url.reveal(), app_key_hash(config.app_key), config.effective_rate_per_sec
            ),
            config.retry,
            connect_timeout_seconds=config.connect_timeout_seconds,
            read_timeout_seconds=config.read_timeout_seconds,
        )
        self.config = config
        self.schema_drift = SchemaDrift()
        self.server_clock = server_clock or ServerClock()
        self._throttle_announced = False
        self._tokens = TokenProvider(config, self._http, self.metrics, paced=self._paced)
        self._longest_page: dict[str, int] = {}  # TR ID -> most rows one page has held (its page size)

    def __repr__(self) -> str:
        return f"KISSession(base_url={self.config.base_url!r}, paper={self.config.paper})"

    def request(
        self, endpoint: Endpoint, params: Mapping[str, str], *, symbol: str | None, tr_cont: str = ""
    ) -> Page:
        """One logical call (retries included); returns the success envelope and the tr_cont header."""
        if self.config.paper and not endpoint.paper:
            raise KISError(
                f"{endpoint.name} is real-account only (paper mode)", tr_id=endpoint.tr_id, symbol=symbol
            )
        unknown = set(params) - set(endpoint.params)
        if unknown:
            raise KISError(
                f"parameters not in the registry: {sorted(unknown)}", tr_id=endpoint.tr_id, symbol=symbol
            )
        query = {**endpoint.params, **params}
        if endpoint.params.get(MARKET_DIVISION) in MARKET_DIVISIONS and MARKET_DIVISION not in params:
            query[MARKET_DIVISION] = self.config.market_division
        refreshed = False
        failures = throttled = 0
        while True:
            token = self._tokens.get()
            try:
                return self._attempt(endpoint, query, token, symbol=symbol, tr_cont=tr_cont)
            except KISAPIError as exc:
                if exc.msg_cd not in TOKEN_EXPIRED or refreshed:
                    raise
                refreshed = True
                self.metrics.count_retry("token_expired")
                self._tokens.refresh(token)
            except Transient as exc:
                if exc.reason == "rate_limited" and self._adapts_to_throttling(throttled):
                    throttled += 1
                    self.metrics.count_retry(exc.reason)
                    log.info(
                        "KIS %s %s: %s (retry %d at a budget of %.2f/s)",
                        endpoint.tr_id,
                        symbol or "-",
                        exc,
                        throttled,
                        self._limiter.budget_in_force,
                    )
                    self._backoff(min(throttled, 3))
                    continue
                failures += 1
                self._retry_or_give_up(exc, failures, broker="KIS", tr_id=endpoint.tr_id, symbol=symbol)

    def _adapts_to_throttling(self, throttled: int) -> bool:
        """EGW00201 under the shared limiter: KIS grants this key less than its budget (new keys get
        about 3/s for their first days). Reports it, so sustained refusals lower the key's budget for
        every process; while the budget can still go down, the refusal does not count as a failure."""
        before = self._limiter.budget_in_force
        throttle = self._limiter.report_throttled()
        if throttle.lowered:
            change = f"{before:g}/s -> {throttle.budget:g}/s"
            self.metrics.count_budget_change(change)
            if not self._throttle_announced:
                self._throttle_announced = True
                log.warning(
                    "KIS is throttling this app key (sustained EGW00201): its request budget is lowered "
                    "to %.2f/s (configured %g/s) for every process sharing it, and recovers by 10%% a "
                    "minute without refusals; a new key is held to about 3/s for its first days",
                    throttle.budget,
                    self._limiter.budget,
                )
        return throttled < MAX_THROTTLED_RETRIES and not self._limiter.at_floor

    def _attempt(
        self,
        endpoint: Endpoint,
        query: Mapping[str, str],
        token: AccessToken,
        *,
        symbol: str | None,
        tr_cont: str,
    ) -> Page:
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token.value.reveal()}",
            "appkey": self.config.app_key.reveal(),
            "appsecret": self.config.app_secret.reveal(),
            "tr_id": endpoint.tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }
        response = self._send("GET", self.config.base_url + endpoint.url_path, params=query, headers=headers)
        self.server_clock.observe(response.headers.get("date"))
        return _classify(response, endpoint, symbol)

    def _parse_page(
        self,
        page: Page,
        endpoint: Endpoint,
        symbol: str | None,
        window: tuple[dt.date, dt.date] | None = None,
    ) -> list[Row]:
        if page.no_data:
            return []
        raw_rows = extract_rows(page.body, endpoint, symbol=symbol)
        self.schema_drift.observe(endpoint, raw_rows)
        return parse_rows(raw_rows, endpoint, symbol=symbol, window=window)

    def download(self, url: str, *, label: str) -> bytes:
        """GET a public file (the master zips live on another host: no auth, no API pacing)."""
        limit = self.config.retry.max_attempts
        for attempt in range(1, limit + 1):
            try:
                response = self._http.get(url)
                self.server_clock.observe(response.headers.get("date"))  # which day a master file is
                if response.status_code == 200:
                    return response.content
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            self.metrics.count_retry("download")
            if attempt < limit:
                self._backoff(attempt)
        raise KISError(f"download failed: {problem}", tr_id=f"master:{label}", symbol=None)

    def fetch_rows(self, endpoint: Endpoint, params: Mapping[str, str], *, symbol: str | None) -> list[Row]:
        """All rows of a call that takes no date range (tr_cont pages followed where registered)."""
        rows: list[Row] = []
        for page_rows in self._tr_cont_pages(endpoint, params, symbol, None):
            rows += page_rows
        return rows

    def fetch_range(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        *,
        symbol: str | None,
        start: dt.date,
        end: dt.date,
    ) -> list[Row]:
        """Rows back to `start`, newest first, under every paging style KIS may use (docs/kis_protocol.md §7).

        Follows tr_cont "F"/"M" pages; when the server stops (tr_cont "D", or a TR that never pages)
        before `start` is covered, moves the endpoint's cursor date(s) to the day before the oldest row
        and asks again. Stops once `start` is covered, on an empty page, when only weekend days are left,
        or on a page shorter than the longest this TR has answered (the server ran out of rows). A server
        that says "more" but repeats a page, or ignores a moved cursor, is an error at once. Rows outside
        [start, end] come back with their date only (see parse_rows).
        """
        rows: list[Row] = []
        query = dict(params)
        previous_oldest: dt.date | None = None
        calls = 0
        while True:
            page_rows: list[Row] = []
            try:
                for page_rows in self._tr_cont_pages(endpoint, query, symbol, (start, end)):
                    calls += 1
                    rows += page_rows
                    if not page_rows or oldest_day(page_rows) <= start:
                        return rows
            except KISAPIError as exc:
                if previous_oldest is None or exc.msg_cd not in NO_DATA_MESSAGES:
                    raise
                return rows  # the cursor moved before the first day KIS has (a full last page)
            oldest = oldest_day(page_rows)
            if previous_oldest is not None and oldest >= previous_oldest:
                raise KISError(
                    f"moved {'/'.join(endpoint.cursor)} back to {previous_oldest - ONE_DAY} but "
                    f"the server answered from {oldest} again",
                    tr_id=endpoint.tr_id,
                    symbol=symbol,
                )
            if (
                not endpoint.cursor
                or len(page_rows) < self._longest_page.get(endpoint.tr_id, 0)
                or not _has_weekday(start, oldest)
            ):
                return rows
            if calls >= self.config.max_pages:
                raise KISError(
                    f"more than {self.config.max_pages} pages", tr_id=endpoint.tr_id, symbol=symbol
                )
            previous_oldest = oldest
            query.update(dict.fromkeys(endpoint.cursor, f"{oldest - ONE_DAY:%Y%m%d}"))

    def _tr_cont_pages(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        symbol: str | None,
        window: tuple[dt.date, dt.date] | None,
    ) -> Iterator[list[Row]]:
        """Each page of one tr_cont chain; raises when a "more" page repeats the previous one (a server
        stuck on its first page would otherwise cost max_pages identical calls)."""
        tr_cont, promised, previous = "", "", None
        for _ in range(self.config.max_pages):
            page = self.request(endpoint, params, symbol=symbol, tr_cont=tr_cont)
            self.metrics.count_page()
            page_rows = self._parse_page(page, endpoint, symbol, window)
            longest = self._longest_page.get(endpoint.tr_id, 0)
            self._longest_page[endpoint.tr_id] = max(longest, len(page_rows))
            if previous is not None and page_rows and page_rows == previous:
                raise KISError(
                    f'tr_cont "{promised}" promised another page but the next page repeated the '
                    f"previous {len(page_rows)} rows",
                    tr_id=endpoint.tr_id,
                    symbol=symbol,
                )
            yield page_rows
            if endpoint.paging is not Paging.TR_CONT or page.tr_cont not in MORE_PAGES:
                return
            previous, tr_cont, promised = page_rows, "N", page.tr_cont
        raise KISError(f"more than {self.config.max_pages} pages", tr_id=endpoint.tr_id, symbol=symbol)


def oldest_day(rows: list[Row]) -> dt.date:
    days = [row["time"] for row in rows]
    if not all(isinstance(day, dt.date) for day in days):
        raise TypeError("rows without a date in 'time' cannot be paged by date")
    return min(days)  # type: ignore[type-var, return-value]  # all dates, checked above


def _has_weekday(start: dt.date, before: dt.date) -> bool:
    """Whether any Monday-Friday lies in [start, before)."""
    day = start
    while day < before:
        if day.weekday() < 5:
            return True
        day += dt.timedelta(days=1)
    return False


def _classify(response: httpx.Response, endpoint: Endpoint, symbol: str | None) -> Page:
    status = response.status_code
    body = json_object(response)
    msg_cd = str(body.get("msg_cd") or body.get("error_code") or "")
    msg1 = str(body.get("msg1") or body.get("error_description") or "")
    if msg_cd == RATE_LIMITED:
        raise Transient("rate_limited", f"HTTP {status} {msg_cd}")
    rt_cd = body.get("rt_cd")
    if rt_cd == "0" and status == 200:
        return Page(body, response.headers.get("tr_cont", "").strip())
    if rt_cd == NO_DATA and status == 200:
        return Page({}, "", no_data=True)
    if TIME_LIMIT in msg1:
        after = FINAL_AFTER.get(endpoint.tr_id)
        raise KISNotPublishedError(
            tr_id=endpoint.tr_id,
            symbol=symbol,
            detail=f"{msg_cd} {msg1}".strip(),
            available_after=f"{after:%H:%M}" if after else "the close",
        )
    if status in GATEWAY_ERRORS or (rt_cd is None and status >= 500):
        raise Transient("http5xx", f"HTTP {status} {msg_cd}".strip())
    if rt_cd is None and status == 200:
        raise KISPayloadError(tr_id=endpoint.tr_id, symbol=symbol, field="rt_cd", problem="missing")
    raise KISAPIError(
        tr_id=endpoint.tr_id, symbol=symbol, msg_cd=msg_cd or f"HTTP{status}", msg1=msg1, http_status=status
    )
