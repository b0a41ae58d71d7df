"""Low-level Kiwoom calls: auth header, the shared PostgreSQL limiters, retries, classification, paging.

Classification (docs/kiwoom_api.md "return_code semantics"):
- the answer with "[1634]" = a batch over 100 items: KiwoomBatchLimitError at once, never retried;
- HTTP 429, return_code 5 or a [1700]/[1701]/[1702]/[1687] code = over a request limit (kiwoom/limits.py):
  retried with bounded exponential backoff; the figure it states is recorded, one below the configured
  budget is warned about, and the refusal is reported to the limiter it concerns (adaptive budget);
- return_code 8005 or HTTP 401 = invalid token: the shared token is refreshed once and the call repeated once;
- 5xx, timeouts, dropped connections, broken JSON: retried, then KISTransientError;
- any other return_code != 0: KiwoomAPIError.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx

from kis_intel_assets.kis.errors import KISError, KISPayloadError
from kis_intel_assets.kis.http import PooledHTTP, Transient, json_object
from kis_intel_assets.kis.parsing import Row, parse_value
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.tokens import AccessToken
from kis_intel_assets.kiwoom.config import KiwoomConfig
from kis_intel_assets.kiwoom.endpoints import TOKEN_API_ID, KiwoomEndpoint, Money
from kis_intel_assets.kiwoom.errors import KiwoomAPIError, KiwoomBatchLimitError
from kis_intel_assets.kiwoom.limits import (
    OVER_LIMIT_RETURN_CODE,
    TOTAL,
    KiwoomLimiters,
    RateLimitRefusal,
    read_rate_limit_refusal,
)
from kis_intel_assets.kiwoom.tokens import KiwoomTokenProvider

log = logging.getLogger(__name__)

BATCH_LIMIT = "[1634]"
INVALID_TOKEN = 8005
_CODE = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Page:
    body: Mapping[str, Any]
    cont_yn: str
    next_key: str


class _InvalidToken(Exception):
    pass


class _RateLimited(Transient):
    """A rate-limit answer, with what it says about the limit."""

    def __init__(self, refusal: RateLimitRefusal, detail: str) -> None:
        super().__init__("rate_limited", detail)
        self.refusal = refusal


class KiwoomSession(PooledHTTP):
    """HTTP pool, token provider and the shared limiters (one per TR) for one Kiwoom app key; thread-safe."""

    def __init__(self, config: KiwoomConfig) -> None:
        super().__init__(
            config.retry,
            connect_timeout_seconds=config.connect_timeout_seconds,
            read_timeout_seconds=config.read_timeout_seconds,
        )
        self.config = config
        self.limiters = KiwoomLimiters(config)
        self._tokens = KiwoomTokenProvider(config, self._http, self.metrics, paced=self._paced_token_call)

    def __repr__(self) -> str:
        return f"KiwoomSession(base_url={self.config.base_url!r})"

    def close(self) -> None:
        super().close()
        self.limiters.close()

    def _paced_token_call(self) -> AbstractContextManager[None]:
        return self._paced(self.limiters.for_request(TOKEN_API_ID))

    def request(
        self,
        endpoint: KiwoomEndpoint,
        body: Mapping[str, str],
        *,
        symbol: str | None,
        cont_yn: str = "",
        next_key: str = "",
    ) -> Page:
        """One logical call (retries included): the success envelope and the paging headers."""
        unknown = set(body) - set(endpoint.body)
        if unknown:
            raise KISError(
                f"body keys not in the registry: {sorted(unknown)}", tr_id=endpoint.api_id, symbol=symbol
            )
        payload = {**endpoint.body, **body}
        refreshed = False
        failures = 0
        while True:
            token = self._tokens.get()
            try:
                return self._attempt(endpoint, payload, token, symbol, cont_yn, next_key)
            except _InvalidToken:
                if refreshed:
                    raise KiwoomAPIError(
                        api_id=endpoint.api_id,
                        symbol=symbol,
                        return_code=INVALID_TOKEN,
                        return_msg="token still invalid after one refresh",
                    ) from None
                refreshed = True
                self.metrics.count_retry("token_invalid")
                self._tokens.refresh(token)
            except Transient as exc:
                if isinstance(exc, _RateLimited):
                    self._learn_from(endpoint.api_id, exc.refusal)
                failures += 1
                # After a rate-limit answer Kiwoom wants at least `rate_limit_wait_seconds` of quiet.
                at_least = self.config.rate_limit_wait_seconds if exc.reason == "rate_limited" else 0.0
                self._retry_or_give_up(
                    exc, failures, broker="Kiwoom", tr_id=endpoint.api_id, symbol=symbol, at_least=at_least
                )

    def _attempt(
        self,
        endpoint: KiwoomEndpoint,
        payload: Mapping[str, str],
        token: AccessToken,
        symbol: str | None,
        cont_yn: str,
        next_key: str,
    ) -> Page:
        headers = {
            "content-type": "application/json;charset=UTF-8",
            "api-id": endpoint.api_id,
            "authorization": f"Bearer {token.value.reveal()}",
        }
        if cont_yn:
            headers |= {"cont-yn": cont_yn, "next-key": next_key}
        response = self._send(
            "POST",
            self.config.base_url + endpoint.path,
            json=payload,
            headers=headers,
            limiters=self.limiters.for_request(endpoint.api_id),
        )
        return _classify(response, endpoint, symbol)

    def _learn_from(self, api_id: str, refusal: RateLimitRefusal) -> None:
        """A refusal of a request of `api_id`: the figure it states is recorded (and warned about once when
        below the configured budget) and, when below the budget in force, becomes that limiter's budget for
        every process; other refusals go to its adaptive rule, which lowers the budget when they are
        sustained (ratelimit.py). Without a configured total cap, a total refusal concerns the TR's bucket:
        the one this client can slow."""
        bucket = TOTAL if refusal.on_total else refusal.api_id or api_id
        configured = self.limiters.total() if refusal.on_total else self.limiters.bucket(api_id)
        if refusal.quota is not None and self.metrics.record_server_quota(bucket, refusal.quota):
            _warn_if_below_budget(bucket, refusal.quota, configured)
        limiter = configured or self.limiters.bucket(api_id)
        before = limiter.budget_in_force
        # A stated figure below the budget is the limit itself (the total bounds each TR too); anything else
        # is left to the adaptive rule, which lowers a budget only for sustained refusals.
        quota = refusal.quota
        throttle = (
            limiter.lower_to(quota) if quota is not None and quota < before else limiter.report_throttled()
        )
        if throttle.lowered:
            self.metrics.count_budget_change(f"{bucket}: {before:g}/s -> {throttle.budget:g}/s")

    def fetch_rows(
        self,
        endpoint: KiwoomEndpoint,
        body: Mapping[str, str],
        *,
        symbol: str | None,
        start: dt.date | None = None,
        quantities: bool = False,
    ) -> list[Row]:
        """All rows of a call, following cont-yn/next-key until the last page or until `start` is covered.

        `quantities`: in this call the TR's value fields carry share counts (amt_qty_tp), not amounts.
        """
        rows: list[Row] = []
        cont_yn = next_key = ""
        for _ in range(self.config.max_pages):
            page = self.request(endpoint, body, symbol=symbol, cont_yn=cont_yn, next_key=next_key)
            self.metrics.count_page()
            unit = (
                1
                if quantities or endpoint.amount_unit is None
                else self.config.amount_units[endpoint.amount_unit]
            )
            page_rows = parse_rows(page.body, endpoint, symbol, unit)
            rows += page_rows
            # "time" is the DATE field of the endpoints paged by date (a Row's values are a union)
            covered = start is not None and page_rows and min(r["time"] for r in page_rows) <= start  # type: ignore[type-var, operator]
            if page.cont_yn != "Y" or covered:
                return rows
            if not page.next_key:
                raise KISPayloadError(
                    tr_id=endpoint.api_id,
                    symbol=symbol,
                    field="next-key",
                    problem="cont-yn is Y but next-key is empty",
                )
            cont_yn, next_key = "Y", page.next_key
        raise KISError(f"more than {self.config.max_pages} pages", tr_id=endpoint.api_id, symbol=symbol)


def _warn_if_below_budget(bucket: str, quota: int, configured: PostgresRateLimiter | None) -> None:
    """One line when the server's stated figure is below the budget configured for `bucket` (or there is
    none: the key's total without a cap); names the bucket and both figures, never the key."""
    if configured is not None and quota >= configured.budget:
        return
    log.warning(
        "Kiwoom states a limit of %d requests/s for %s; the client is configured for %s",
        quota,
        "the key's total over all TRs" if bucket == TOTAL else f"TR {bucket}",
        "no total cap (total_rate_limit_per_sec)"
        if configured is None
        else f"{configured.budget:g}/s (now lowered to the stated figure for every process)",
    )


def _return_code(body: Mapping[str, Any]) -> int | None:
    code = body.get("return_code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and _CODE.fullmatch(code.strip()):
        return int(code)
    return None


def _classify(response: httpx.Response, endpoint: KiwoomEndpoint, symbol: str | None) -> Page:
    status = response.status_code
    body = json_object(response)
    code = _return_code(body)
    message = str(body.get("return_msg") or "")
    if BATCH_LIMIT in message:
        raise KiwoomBatchLimitError(
            api_id=endpoint.api_id,
            symbol=symbol,
            return_code=code or OVER_LIMIT_RETURN_CODE,
            return_msg=message,
            http_status=status,
        )
    refusal = read_rate_limit_refusal(status, code, message)
    if refusal is not None:
        raise _RateLimited(refusal, f"HTTP {status} return_code {code}: {message[:120]}")
    if status == 401 or code == INVALID_TOKEN:
        raise _InvalidToken
    if status >= 500:
        raise Transient("http5xx", f"HTTP {status} return_code {code}")
    if code is None:
        raise KISPayloadError(tr_id=endpoint.api_id, symbol=symbol, field="return_code", problem="missing")
    if code != 0 or status != 200:
        raise KiwoomAPIError(
            api_id=endpoint.api_id, symbol=symbol, return_code=code, return_msg=message, http_status=status
        )
    return Page(
        body, response.headers.get("cont-yn", "").strip(), response.headers.get("next-key", "").strip()
    )


def parse_rows(body: Mapping[str, Any], endpoint: KiwoomEndpoint, symbol: str | None, unit: int) -> list[Row]:
    """Typed rows of the TR's list with Money fields times `unit`; a missing or malformed field is a
    KISPayloadError naming it."""
    raw_rows = body.get(endpoint.rows_key)
    if not isinstance(raw_rows, list):
        problem = "missing" if endpoint.rows_key not in body else "expected a list"
        raise KISPayloadError(tr_id=endpoint.api_id, symbol=symbol, field=endpoint.rows_key, problem=problem)
    rows: list[Row] = []
    for raw in raw_rows:
        if not isinstance(raw, Mapping):
            raise KISPayloadError(
                tr_id=endpoint.api_id, symbol=symbol, field=endpoint.rows_key, problem="row is not an object"
            )
        row: Row = {}
        for spec in endpoint.fields:
            if spec.source not in raw:
                raise KISPayloadError(
                    tr_id=endpoint.api_id, symbol=symbol, field=spec.source, problem="missing"
                )
            value = parse_value(raw[spec.source], spec, tr_id=endpoint.api_id, symbol=symbol)
            if isinstance(spec, Money) and isinstance(value, int):
                value *= unit
            elif spec.column in endpoint.unsigned and isinstance(value, int):
                value = abs(value)
            row[spec.column] = value
        rows.append(row)
    return rows
