"""The KRX markets the product covers (KONEX is out of scope): one tuple for ingest, checks and analytics;
and how KRX numbers a common stock (its ISIN), which the KIS master files and the KRX portal both carry."""

from __future__ import annotations

MARKETS: tuple[str, ...] = ("KOSPI", "KOSDAQ")


def common_stock_isin(symbol: str) -> str:
    """The ISIN of a common stock's 6-digit code: KR7 + code + 00 + the ISIN check digit (Luhn over the
    characters read as base-36 digits)."""
    body = f"KR7{symbol}00"
    digits = "".join(str(int(char, 36)) for char in body)
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return body + str((10 - total % 10) % 10)
