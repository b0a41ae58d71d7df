"""Access tokens per app key (1 issuance per minute, same token re-issued within 6 h, TTL) and the per-key
sliding-window rate limiter. Both use time.monotonic()."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum


class TokenThrottledError(Exception):
    """Issuance asked again within the minimum interval (KIS EGW00133)."""


class TokenState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass
class _Token:
    value: str
    app_key: str
    issued_at: float
    expires_at: float


class TokenStore:
    def __init__(self, ttl_seconds: float, min_interval_seconds: float, reuse_seconds: float) -> None:
        self.ttl = ttl_seconds
        self.min_interval = min_interval_seconds
        self.reuse = reuse_seconds
        self._lock = threading.Lock()
        self._by_value: dict[str, _Token] = {}
        self._current: dict[str, _Token] = {}
        self._last_call: dict[str, float] = {}

    def issue(self, app_key: str) -> tuple[str, float]:
        """(token, seconds until expiry); raises TokenThrottledError inside the minimum interval."""
        now = time.monotonic()
        with self._lock:
            last = self._last_call.get(app_key)
            if last is not None and now - last < self.min_interval:
                raise TokenThrottledError
            self._last_call[app_key] = now
            current = self._current.get(app_key)
            if current is not None and current.expires_at > now and now - current.issued_at < self.reuse:
                return current.value, current.expires_at - now
            token = _Token(secrets.token_urlsafe(64), app_key, now, now + self.ttl)
            self._by_value[token.value] = token
            self._current[app_key] = token
            return token.value, self.ttl

    def check(self, value: str, app_key: str) -> TokenState:
        with self._lock:
            token = self._by_value.get(value)
        if token is None or token.app_key != app_key:
            return TokenState.INVALID
        return TokenState.VALID if token.expires_at > time.monotonic() else TokenState.EXPIRED

    def expire(self, app_key: str | None = None) -> int:
        """Force tokens (of one key, or all) to expire now; returns how many were live."""
        now = time.monotonic()
        expired = 0
        with self._lock:
            for token in self._by_value.values():
                if (app_key is None or token.app_key == app_key) and token.expires_at > now:
                    token.expires_at = now
                    expired += 1
        return expired


class SlidingWindowLimiter:
    """At most `limit` admitted requests per app key in any 1-second window; refused ones do not count.

    Keys in `new_keys` (every key when it is None) are held to `new_key_limit` instead when that is set:
    KIS holds a new customer's key to about 3 requests/s for its first days.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float = 1.0,
        new_key_limit: int | None = None,
        new_keys: Collection[str] | None = None,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.new_key_limit = new_key_limit
        self.new_keys = None if new_keys is None else frozenset(new_keys)
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def limit_for(self, app_key: str) -> int:
        if self.new_key_limit is not None and (self.new_keys is None or app_key in self.new_keys):
            return self.new_key_limit
        return self.limit

    def admit(self, app_key: str, now: float) -> bool:
        limit = self.limit_for(app_key)
        with self._lock:
            times = self._admitted.setdefault(app_key, deque())
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= limit:
                return False
            times.append(now)
            return True

    def withdraw(self, app_key: str) -> None:
        """Takes back the latest admission of `app_key`: another limit refused that request after all."""
        with self._lock:
            self._admitted[app_key].pop()
