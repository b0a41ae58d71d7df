"""What the KIS and Kiwoom sessions share for one app key: an HTTP connection pool, a turn of the shared
PostgreSQL limiters per request (KIS: one per key; Kiwoom: one per TR, see kiwoom/limits.py), bounded
full-jitter backoff, and the give-up rule for transient failures (retried until `RetrySettings.max_attempts`,
then a KISTransientError). Each broker keeps its own answer classification and token handling."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from kis_intel_assets.closing import Closing
from kis_intel_assets.kis.config import RetrySettings
from kis_intel_assets.kis.errors import KISTransientError
from kis_intel_assets.kis.metrics import ClientMetrics
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter

log = logging.getLogger(__name__)


class Transient(Exception):
    """Internal signal of a session: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; a body that is not one is Transient (a 5xx page, a truncated reply)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        reason = "http5xx" if status >= 500 else "bad_json"
        raise Transient(reason, f"HTTP {status}, body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Transient("bad_json", f"HTTP {status}, body is not a JSON object")
    return body


class PooledHTTP(Closing):
    """One app key's connection pool; a request takes a turn of each limiter it is paced by; thread-safe."""

    def __init__(
        self, retry: RetrySettings, *, connect_timeout_seconds: float, read_timeout_seconds: float
    ) -> None:
        self.metrics = ClientMetrics()
        self._retry = retry
        self._http = httpx.Client(
            timeout=httpx.Timeout(read_timeout_seconds, connect=connect_timeout_seconds),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def _paced(self, limiters: Sequence[PostgresRateLimiter] = ()) -> Iterator[None]:
        """One turn of each of `limiters` around one HTTP request (see ratelimit.py): taken in order, all
        held until the reply is back, so the request counts against every budget it is under."""
        with ExitStack() as turns:
            self.metrics.count_wait(sum(turns.enter_context(limiter.turn()) for limiter in limiters))
            yield

    def _backoff(self, attempt: int, at_least: float = 0.0) -> None:
        ceiling = min(self._retry.backoff_cap_seconds, self._retry.backoff_base_seconds * 2**attempt)
        time.sleep(max(random.uniform(0, ceiling), at_least))

    def _send(
        self, method: str, url: str, *, limiters: Sequence[PostgresRateLimiter] = (), **kwargs: Any
    ) -> httpx.Response:
        """One paced, counted HTTP request; timeouts and dropped connections become Transient."""
        try:
            with self._paced(limiters):
                self.metrics.count_request()
                return self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise Transient("timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise Transient("connection", type(exc).__name__) from None

    def _retry_or_give_up(
        self,
        failure: Transient,
        failures: int,
        *,
        broker: str,
        tr_id: str,
        symbol: str | None,
        at_least: float = 0.0,
    ) -> None:
        """Counts the retry; at the budget's last attempt raises KISTransientError, before it logs the
        failure and waits (at least `at_least` seconds) for the next attempt."""
        self.metrics.count_retry(failure.reason)
        limit = self._retry.max_attempts
        if failures >= limit:
            raise KISTransientError(
                tr_id=tr_id,
                symbol=symbol,
                reason=failure.reason,
                attempts=failures,
                detail=failure.detail,
            ) from None
        log.warning("%s %s %s: %s (attempt %d/%d)", broker, tr_id, symbol or "-", failure, failures, limit)
        self._backoff(failures, at_least)


class PacedHTTP(PooledHTTP):
    """A pool behind one limiter that paces every request of the key (KIS's rule)."""

    def __init__(
        self,
        limiter: PostgresRateLimiter,
        retry: RetrySettings,
        *,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
    ) -> None:
        super().__init__(
            retry, connect_timeout_seconds=connect_timeout_seconds, read_timeout_seconds=read_timeout_seconds
        )
        self._limiter = limiter

    def close(self) -> None:
        super().close()
        self._limiter.close()

    @contextmanager
    def _paced(self, limiters: Sequence[PostgresRateLimiter] = ()) -> Iterator[None]:
        """The key's limiter first, then any the request names."""
        with super()._paced((self._limiter, *limiters)):
            yield
