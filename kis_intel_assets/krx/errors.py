"""Typed failures of the KRX data-portal client. None of them ever carries the login id or password.

KRXError                      base: every failure of the KRX client
├── KRXNotConfiguredError     no credentials: the client refuses to exist, so no request is made
├── KRXLoginError             the portal refused the login (its _error_code, e.g. CD010)
├── KRXLoggedOutError         still "LOGOUT" after the one re-login a request may do
├── KRXBlockedError           the portal blocked us (or did so earlier): no call until `reopens_at`
├── KRXNotPublishedError      the day's table is not published yet: no request was made, or it was empty
└── KRXPayloadError           a field of an answer is missing or not a number: never read as zero
"""

from __future__ import annotations

from datetime import date, datetime


class KRXError(Exception):
    """Base class of every KRX client failure."""


class KRXNotConfiguredError(KRXError):
    """KRX_ID / KRX_PW are not set: KRX is optional and off, and the client makes no request at all."""


class KRXLoginError(KRXError):
    """The portal answered the login with a code other than success (CD001) or duplicate login (CD011)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        hint = " (the portal wants a new password: change it on the KRX site)" if code == "CD010" else ""
        super().__init__(f"KRX refused the login: {code} {message}".rstrip() + hint)


class KRXLoggedOutError(KRXError):
    """The portal still answers "LOGOUT" right after a fresh login: the session cannot be kept."""

    def __init__(self, bld: str) -> None:
        self.bld = bld
        super().__init__(f"KRX answered LOGOUT to {bld} again after a fresh login")


class KRXBlockedError(KRXError):
    """The portal blocked this client (too many automated requests); retrying would extend the block.

    The circuit breaker keeps every process of this database away from the portal until `reopens_at`.
    """

    def __init__(self, reopens_at: datetime, reason: str) -> None:
        self.reopens_at = reopens_at
        self.reason = reason
        super().__init__(f"KRX portal blocked ({reason}); no KRX request before {reopens_at.isoformat()}")


class KRXNotPublishedError(KRXError):
    """`dataset` for trading day `day` is not published before `available_from` (KST); not a failure."""

    def __init__(self, dataset: str, day: date, available_from: datetime) -> None:
        self.dataset = dataset
        self.day = day
        self.available_from = available_from
        super().__init__(
            f"KRX {dataset} for {day.isoformat()} is not published before {available_from.isoformat()}"
        )


class KRXUnavailableError(KRXError):
    """The portal could not be reached or answered 5xx; not retried here (the run is retried later)."""


class KRXPayloadError(KRXError):
    """A field of a bld's answer is missing, empty or not a number (a parse failure, never a zero)."""

    def __init__(self, bld: str, symbol: str | None, field: str, problem: str) -> None:
        self.bld = bld
        self.symbol = symbol
        self.field = field
        self.problem = problem
        super().__init__(f"KRX {bld}: bad field {field!r} ({problem}) [symbol={symbol or '-'}]")
