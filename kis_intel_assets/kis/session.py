"""Low-level KIS calls: auth headers, shared pacing, retries, error classification and paging.

Transient failures (EGW00201 with HTTP 500 or HTTP 200, 5xx, timeouts, dropped connections, invalid or
truncated JSON) are retried with bounded exponential backoff and full jitter, then raised as
KISTransientError; EGW00123/EGW00121 (expired/invalid token) refresh the shared token once and retry
once; any other rt_cd != "0" is a KISAPIError. Every request, retry included, passes the shared limiter.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.kis.endpoints import Endpoint, Paging
from kis_intel_assets.kis.errors import KISAPIError, KISError, KISPayloadError, KISTransientError
from kis_intel_assets.kis.metrics import ClientMetrics
from kis_intel_assets.kis.parsing import Row, extract_rows, parse_rows
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.tokens import AccessToken, TokenProvider, app_key_hash

log = logging.getLogger(__name__)

RATE_LIMITED = "EGW00201"
NO_DATA = "KIOK0560"  # 조회할 자료가 없습니다 (kis_api.md §9), with rt_cd "7"
TOKEN_EXPIRED = {"EGW00123", "EGW00121"}
MORE_PAGES = {"F", "M"}
GATEWAY_ERRORS = {502, 503, 504}


@dataclass(frozen=True)
class Page:
    body: Mapping[str, Any]
    tr_cont: str


class _Transient(Exception):
    """Internal signal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class KISSession:
    """Owns the HTTP connection pool, the token provider and the shared limiter; thread-safe."""

    def __init__(self, config: KISConfig) -> None:
        self.config = config
        self.metrics = ClientMetrics()
        self.schema_drift = SchemaDrift()
        self._limiter = PostgresRateLimiter(
            config.database_url.reveal(), app_key_hash(config.app_key), config.effective_rate_per_sec,
            lease_seconds=config.connect_timeout_seconds + config.read_timeout_seconds + 1.0,
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.read_timeout_seconds, connect=config.connect_timeout_seconds),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )
        self._tokens = TokenProvider(config, self._http, self.metrics, paced=self._paced)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, paper={self.config.paper})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._limiter.close()

    @contextmanager
    def _paced(self) -> Iterator[None]:
        """One limiter turn around one HTTP request (see ratelimit.py)."""
        with self._limiter.turn() as waited:
            self.metrics.count_wait(waited)
            yield

    def _backoff(self, attempt: int) -> None:
        retry = self.config.retry
        ceiling = min(retry.backoff_cap_seconds, retry.backoff_base_seconds * 2**attempt)
        time.sleep(random.uniform(0, ceiling))

    def request(self, endpoint: Endpoint, params: Mapping[str, str], *, symbol: str | None,
                tr_cont: str = "") -> Page:
        """One logical call (retries included); returns the success envelope and the tr_cont header."""
        if self.config.paper and not endpoint.paper:
            raise KISError(f"{endpoint.name} is real-account only (paper mode)", tr_id=endpoint.tr_id,
                           symbol=symbol)
        unknown = set(params) - set(endpoint.params)
        if unknown:
            raise KISError(f"parameters not in the registry: {sorted(unknown)}", tr_id=endpoint.tr_id,
                           symbol=symbol)
        query = {**endpoint.params, **params}
        refreshed = False
        failures = 0
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
            except _Transient as exc:
                failures += 1
                self.metrics.count_retry(exc.reason)
                limit = self.config.retry.max_attempts
                if failures >= limit:
                    raise KISTransientError(tr_id=endpoint.tr_id, symbol=symbol, reason=exc.reason,
                                            attempts=failures, detail=exc.detail) from None
                log.warning("KIS %s %s: %s (attempt %d/%d)", endpoint.tr_id, symbol or "-", exc, failures,
                            limit)
                self._backoff(failures)

    def _attempt(self, endpoint: Endpoint, query: Mapping[str, str], token: AccessToken, *,
                 symbol: str | None, tr_cont: str) -> Page:
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token.value.reveal()}",
            "appkey": self.config.app_key.reveal(),
            "appsecret": self.config.app_secret.reveal(),
            "tr_id": endpoint.tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }
        try:
            with self._paced():
                self.metrics.count_request()
                response = self._http.get(self.config.base_url + endpoint.url_path, params=query,
                                          headers=headers)
        except httpx.TimeoutException as exc:
            raise _Transient("timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise _Transient("connection", type(exc).__name__) from None
        return _classify(response, endpoint, symbol)

    def _parse_page(self, page: Page, endpoint: Endpoint, symbol: str | None,
                    window: tuple[dt.date, dt.date] | None = None) -> list[Row]:
        raw_rows = extract_rows(page.body, endpoint, symbol=symbol)
        self.schema_drift.observe(endpoint, raw_rows)
        return parse_rows(raw_rows, endpoint, symbol=symbol, window=window)

    def download(self, url: str, *, label: str) -> bytes:
        """GET a public file (the master zips live on another host: no auth, no API pacing)."""
        limit = self.config.retry.max_attempts
        for attempt in range(1, limit + 1):
            try:
                response = self._http.get(url)
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

    def fetch_rows(self, endpoint: Endpoint, params: Mapping[str, str], *, symbol: str | None,
                   start: dt.date | None = None, end: dt.date | None = None) -> list[Row]:
        """All rows of a call; tr_cont endpoints page until the last page or until `start` is covered.

        With both `start` and `end`, rows outside them come back with their date only (see parse_rows).
        """
        window = (start, end) if start is not None and end is not None else None
        rows: list[Row] = []
        tr_cont = ""
        for _ in range(self.config.max_pages):
            page = self.request(endpoint, params, symbol=symbol, tr_cont=tr_cont)
            self.metrics.count_page()
            page_rows = self._parse_page(page, endpoint, symbol, window)
            rows += page_rows
            covered = start is not None and page_rows and oldest_day(page_rows) <= start
            if endpoint.paging is not Paging.TR_CONT or page.tr_cont not in MORE_PAGES or covered:
                return rows
            tr_cont = "N"
        raise KISError(f"more than {self.config.max_pages} pages", tr_id=endpoint.tr_id, symbol=symbol)

    def fetch_by_date_2(self, endpoint: Endpoint, params: Mapping[str, str], *, symbol: str | None,
                        start: dt.date, end: dt.date) -> list[Row]:
        """Pages a DATE_1/DATE_2 range newest-first by moving DATE_2 to (oldest row - 1 day).

        Stops on an empty page or a no-data answer after the first page, once `start` is covered, when
        only weekend days are left before the oldest row, or when a page comes back shorter than an
        earlier one (the server ran out of rows),
        so 250 trading days cost 3 calls at 100 rows per call.
        """
        rows: list[Row] = []
        cursor, largest_page = end, 0
        for _ in range(self.config.max_pages):
            query = {**params, "FID_INPUT_DATE_1": f"{start:%Y%m%d}", "FID_INPUT_DATE_2": f"{cursor:%Y%m%d}"}
            try:
                page = self.request(endpoint, query, symbol=symbol)
            except KISAPIError as exc:
                if rows and exc.msg_cd == NO_DATA:
                    return rows  # nothing older: the range reaches back before the stock's first day
                raise
            self.metrics.count_page()
            page_rows = self._parse_page(page, endpoint, symbol, (start, end))
            if not page_rows:
                return rows
            rows += page_rows
            oldest = oldest_day(page_rows)
            largest_page = max(largest_page, len(page_rows))
            if oldest <= start or len(page_rows) < largest_page or not _has_weekday(start, oldest):
                return rows
            cursor = oldest - dt.timedelta(days=1)
        raise KISError(f"more than {self.config.max_pages} pages", tr_id=endpoint.tr_id, symbol=symbol)


def oldest_day(rows: list[Row]) -> dt.date:
    days = [row["time"] for row in rows]
    if not all(isinstance(day, dt.date) for day in days):
        raise TypeError("rows without a date in 'time' cannot be paged by date")
    return min(days)  # type: ignore[type-var, return-value]


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
    try:
        body = response.json()
    except ValueError:
        reason = "http5xx" if status >= 500 else "bad_json"
        raise _Transient(reason, f"HTTP {status}, body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Transient("bad_json", f"HTTP {status}, body is not a JSON object")
    msg_cd = str(body.get("msg_cd") or body.get("error_code") or "")
    msg1 = str(body.get("msg1") or body.get("error_description") or "")
    if msg_cd == RATE_LIMITED:
        raise _Transient("rate_limited", f"HTTP {status} {msg_cd}")
    rt_cd = body.get("rt_cd")
    if rt_cd == "0" and status == 200:
        return Page(body, response.headers.get("tr_cont", "").strip())
    if status in GATEWAY_ERRORS or (rt_cd is None and status >= 500):
        raise _Transient("http5xx", f"HTTP {status} {msg_cd}".strip())
    if rt_cd is None and status == 200:
        raise KISPayloadError(tr_id=endpoint.tr_id, symbol=symbol, field="rt_cd", problem="missing")
    raise KISAPIError(tr_id=endpoint.tr_id, symbol=symbol, msg_cd=msg_cd or f"HTTP{status}", msg1=msg1,
                      http_status=status)
