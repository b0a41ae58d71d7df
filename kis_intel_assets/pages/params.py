"""Query parameters: parsed strictly, so a typo gets a 400 that names it instead of a silent default."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

INVESTORS = ("foreign", "institution", "individual", "total")
MARKET_FILTERS = ("all", "KOSPI", "KOSDAQ")
ORDERS = ("asc", "desc")
SYMBOL_PATTERN = re.compile(r"^[0-9A-Z]{6}$")


class BadParameter(ValueError):
    """A query or path parameter is malformed or names something with no data; the app answers 400."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(f"bad parameter {name}={shown!r}: {reason}")


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
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter("date", raw, "expected a date as YYYY-MM-DD") from None
    if len(raw) != 10:
        raise BadParameter("date", raw, "expected a date as YYYY-MM-DD")
    if day not in set(days):
        raise BadParameter("date", raw, f"no stored data for that day (stored: {days[0]} .. {days[-1]})")
    return day


def symbol(value: str) -> str:
    if not SYMBOL_PATTERN.match(value):
        raise BadParameter("symbol", value, "expected a 6-character KRX code such as 005930")
    return value
