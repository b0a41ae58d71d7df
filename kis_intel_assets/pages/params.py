"""Query parameters: parsed strictly, so a typo gets a 400 that names it instead of a silent default."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

INVESTORS = ("foreign", "institution", "individual", "total")
MARKET_FILTERS = ("all", "KOSPI", "KOSDAQ")
ORDERS = ("asc", "desc")
SYMBOL_PATTERN = re.compile(r"[0-9A-Z]{6}")  # fullmatch: "$" alone would let a trailing newline through
# The one date form the pages take; date.fromisoformat also reads 20250602 and ISO weeks (2025-W23-1).
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadParameter(ValueError):
    """A query or path parameter is malformed or names something with no data; the app answers 400."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(f"bad parameter {name}={shown!r}: {reason}")


def strict_query(items: Iterable[tuple[str, str]], names: Sequence[str]) -> dict[str, str]:
    """The query as a dict, refusing a name the page does not take (a typo such as `dte`) or one given
    twice (which value would win is not the user's guess to make)."""
    query: dict[str, str] = {}
    for name, value in items:
        if name not in names:
            known = ", ".join(names) if names else "none"
            raise BadParameter(name, value, f"unknown parameter (this page takes: {known})")
        if name in query:
            raise BadParameter(name, value, "given more than once")
        query[name] = value
    return query


def choice(query: Mapping[str, str], name: str, allowed: Sequence[str], default: str) -> str:
    value = query.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise BadParameter(name, value, f"must be one of {', '.join(allowed)}")
    return value


def market_filter(query: Mapping[str, str]) -> str:
    """KOSPI, KOSDAQ or all, in any letter case."""
    value = query.get("market", "")
    normalised = "all" if value.lower() == "all" else value.upper()
    return choice({"market": normalised}, "market", MARKET_FILTERS, "all")


def trading_day(query: Mapping[str, str], days: Sequence[date]) -> date:
    """`date` if it is one of the stored days of the view, else the newest stored day when absent."""
    raw = query.get("date")
    if raw is None or raw == "":
        return days[-1]
    try:
        if not DATE_PATTERN.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter("date", raw, "expected a calendar date as YYYY-MM-DD") from None
    if day not in set(days):
        raise BadParameter("date", raw, f"no stored data for that day (stored: {days[0]} .. {days[-1]})")
    return day


def symbol(value: str) -> str:
    if not SYMBOL_PATTERN.fullmatch(value):
        raise BadParameter("symbol", value, "expected a 6-character KRX code such as 005930")
    return value
