"""Typed failures of the KIS client; every one names the TR ID and symbol it concerns."""

from __future__ import annotations


class KISError(Exception):
    """Base class: carries the TR ID and symbol (or market/code) of the failing request."""

    def __init__(self, message: str, *, tr_id: str, symbol: str | None) -> None:
        self.tr_id = tr_id
        self.symbol = symbol
        super().__init__(f"{message} [tr_id={tr_id}, symbol={symbol or '-'}]")


class KISAPIError(KISError):
    """KIS answered with rt_cd != "0" (or an error envelope) that retrying will not fix."""

    def __init__(
        self, *, tr_id: str, symbol: str | None, msg_cd: str, msg1: str, http_status: int | None = None
    ) -> None:
        self.msg_cd = msg_cd
        self.msg1 = msg1
        self.http_status = http_status
        super().__init__(f"KIS error {msg_cd}: {msg1} (HTTP {http_status})", tr_id=tr_id, symbol=symbol)


class KISPayloadError(KISError):
    """A response field is missing or not a value of the expected type; never replaced by zero."""

    def __init__(self, *, tr_id: str, symbol: str | None, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"bad field {field!r}: {problem}", tr_id=tr_id, symbol=symbol)


class KISTransientError(KISError):
    """A retryable failure (rate limit, 5xx, timeout, broken JSON) persisted past the retry budget."""

    def __init__(self, *, tr_id: str, symbol: str | None, reason: str, attempts: int, detail: str) -> None:
        self.reason = reason
        self.attempts = attempts
        message = f"gave up after {attempts} attempts ({reason}): {detail}"
        super().__init__(message, tr_id=tr_id, symbol=symbol)


class KISTokenError(KISError):
    """The access token could not be issued (EGW00133 past its retries, or a malformed token reply)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, tr_id="tokenP", symbol=None)


class KISNotPublishedError(KISError):
    """KIS has not published the requested day yet (e.g. FHPTJ04160001's "TIME LIMIT 00:00 ~ 15:40").

    Not a failure of the data: the same request succeeds after `available_after` (KST), so callers
    skip or defer the day instead of failing a run.
    """

    def __init__(self, *, tr_id: str, symbol: str | None, detail: str, available_after: str) -> None:
        self.detail = detail
        self.available_after = available_after
        super().__init__(
            f"not published yet ({detail}); available after {available_after} KST", tr_id=tr_id, symbol=symbol
        )
