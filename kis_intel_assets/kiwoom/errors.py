"""Typed Kiwoom failures. They extend the KIS error types (the TR code goes where KIS has its TR ID), so a
caller that handles KIS failures handles Kiwoom ones the same way."""

from __future__ import annotations

from kis_intel_assets.kis.errors import KISAPIError, KISError


class KiwoomAPIError(KISAPIError):
    """Kiwoom answered return_code != 0 in a way retrying will not fix."""

    def __init__(
        self,
        *,
        api_id: str,
        symbol: str | None,
        return_code: int,
        return_msg: str,
        http_status: int | None = None,
    ) -> None:
        self.return_code = return_code
        super().__init__(
            tr_id=api_id, symbol=symbol, msg_cd=str(return_code), msg1=return_msg, http_status=http_status
        )


class KiwoomBatchLimitError(KiwoomAPIError):
    """return_code 5 with [1634]: more than 100 items in one request. Same code and text as the rate limit,
    but permanent: the request must be split, never retried."""


class KiwoomTokenError(KISError):
    """au10001 refused or answered without a usable token / expires_dt."""

    def __init__(self, message: str) -> None:
        super().__init__(message, tr_id="au10001", symbol=None)
