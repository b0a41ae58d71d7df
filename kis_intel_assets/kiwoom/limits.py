"""Kiwoom's request limits: the shared PostgreSQL limiters one app key is paced by, and how a refusal reads.

Sourced (docs/kiwoom_api.md "Request limits"): the limit is per app key *and* per TR (api-id), each TR its
own bucket; over it the server answers [1700] and states the figure and the TR ("유량=5, API ID=ka10080").
A total limit over all TRs ([1701] "총유량=N") and a group limit ([1702]) exist with unknown figures; [1687]
refuses recursive calls. So a request takes a turn of its TR's bucket (`rate_limit_scope` "per_tr"; "per_key"
makes it one bucket for the whole key) and, when `total_rate_limit_per_sec` is set, of a key-wide cap.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import NamedTuple

from kis_intel_assets.closing import Closing
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kiwoom.config import PER_KEY, KiwoomConfig
from kis_intel_assets.kiwoom.tokens import kiwoom_key_hash

TR_LIMIT = 1700  # 허용된 API 요청 개수를 초과하였습니다. 유량=N, API ID=...
TOTAL_LIMIT = 1701  # 허용된 전체 요청 개수를 초과하였습니다. 총유량=N
GROUP_LIMIT = 1702  # 허용된 그룹 요청 개수를 초과하였습니다. 총유량=N, API_ID=...
RECURSION_LIMIT = 1687  # 재귀 호출이 발생하여 API 호출을 제한합니다, API ID=...
RATE_LIMIT_CODES = frozenset({TR_LIMIT, TOTAL_LIMIT, GROUP_LIMIT, RECURSION_LIMIT})
OVER_LIMIT_RETURN_CODE = 5  # the return_code of every [17xx] answer (and of [1634], a batch over 100)
TOTAL = "total"  # the key-wide bucket's name and the label of the total limit's stated figure
_BRACKET_CODE = re.compile(r"\[(\d{4})[:\]]")
_QUOTA = re.compile(r"유량\s*=\s*(\d+)")  # also matches 총유량=N
_API_ID = re.compile(r"API[ _]ID\s*=\s*(\w+)")


class RateLimitRefusal(NamedTuple):
    """What a rate-limit answer says: its [17xx] code, the figure it states and the TR it names (each None
    when the text does not say)."""

    code: int | None
    quota: int | None
    api_id: str | None

    @property
    def on_total(self) -> bool:
        """The key's total over all TRs was exceeded, not one TR's budget."""
        return self.code == TOTAL_LIMIT


def read_rate_limit_refusal(status: int, return_code: int | None, message: str) -> RateLimitRefusal | None:
    """The refusal an answer is (HTTP 429, return_code 5, or a rate-limit code in brackets in the message
    or as the return_code), or None. The caller checks [1634] first: a batch over 100 items has the same
    code and text and is permanent."""
    bracket = _BRACKET_CODE.search(message)
    stated = [int(bracket[1]) if bracket else None, return_code]
    code = next((c for c in stated if c in RATE_LIMIT_CODES), None)
    if status != 429 and code is None and return_code != OVER_LIMIT_RETURN_CODE:
        return None
    quota = _QUOTA.search(message)
    api_id = _API_ID.search(message)
    return RateLimitRefusal(code, int(quota[1]) if quota else None, api_id[1] if api_id else None)


def bucket_hash(key_hash: str, bucket: str) -> str:
    """The limiter key of one bucket of a key (a TR's, or TOTAL): hex like every limiter key, unrelated to
    the key itself."""
    return hashlib.sha256(f"{key_hash}:{bucket}".encode()).hexdigest()


class KiwoomLimiters(Closing):
    """The shared limiters of one app key, each created on first use; thread-safe."""

    def __init__(self, config: KiwoomConfig) -> None:
        self._config = config
        self._key_hash = kiwoom_key_hash(config.app_key)
        self._lock = threading.Lock()
        self._by_hash: dict[str, PostgresRateLimiter] = {}

    def __repr__(self) -> str:
        return f"KiwoomLimiters(scope={self._config.rate_limit_scope}, buckets={len(self._by_hash)})"

    def for_request(self, api_id: str) -> tuple[PostgresRateLimiter, ...]:
        """What a request of `api_id` takes a turn of, in this order: its bucket, then the key-wide cap."""
        cap = self.total()
        return (self.bucket(api_id),) if cap is None else (self.bucket(api_id), cap)

    def bucket(self, api_id: str) -> PostgresRateLimiter:
        """The bucket `api_id` is paced by: its own, or the key's one under rate_limit_scope per_key."""
        per_key = self._config.rate_limit_scope == PER_KEY
        limiter_key = self._key_hash if per_key else bucket_hash(self._key_hash, api_id)
        return self._limiter(limiter_key, self._config.rate_limit_per_sec)

    def total(self) -> PostgresRateLimiter | None:
        """The key-wide cap over every TR, if configured."""
        cap = self._config.total_rate_limit_per_sec
        return None if cap is None else self._limiter(bucket_hash(self._key_hash, TOTAL), cap)

    def _limiter(self, limiter_key: str, budget: float) -> PostgresRateLimiter:
        with self._lock:
            limiter = self._by_hash.get(limiter_key)
            if limiter is None:
                limiter = self._by_hash[limiter_key] = PostgresRateLimiter(
                    self._config.database_url.reveal(),
                    limiter_key,
                    budget,
                    lease_seconds=self._config.connect_timeout_seconds
                    + self._config.read_timeout_seconds
                    + 1.0,
                )
            return limiter

    def close(self) -> None:
        with self._lock:
            limiters, self._by_hash = list(self._by_hash.values()), {}
        for limiter in limiters:
            limiter.close()
