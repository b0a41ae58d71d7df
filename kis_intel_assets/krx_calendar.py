"""KRX trading calendar (exchange_calendars XKRX).

Building XKRX takes seconds (lunar holidays), and every Dagster step process needs it when it loads the
partitions, so the session list is cached per process and on disk, keyed by the exchange_calendars
version and the day it was built (the calendar's horizon moves with today).
"""

from __future__ import annotations

import functools
import os
from datetime import date, timedelta
from pathlib import Path

import exchange_calendars as xcals
import numpy as np

from kis_intel_assets import settings

_CALENDAR_START = "2010-01-04"


class CalendarRangeError(ValueError):
    """A date lies outside the span the XKRX calendar knows, so its trading status is unknown."""


def _cache_file() -> Path:
    return settings.cache_dir() / f"xkrx-{xcals.__version__}-{_CALENDAR_START}-{date.today().isoformat()}.npy"


@functools.lru_cache(maxsize=1)
def _sessions() -> np.ndarray:
    """All XKRX sessions as a sorted numpy datetime64[D] array."""
    cache = _cache_file()
    try:
        return np.load(cache)
    except (OSError, ValueError):
        pass  # not built today yet, or unreadable: build it
    sessions = xcals.get_calendar("XKRX", start=_CALENDAR_START).sessions.values.astype("datetime64[D]")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, sessions)
        partial.replace(cache)  # atomic, so a concurrent reader never sees half a file
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return sessions


def calendar_bounds() -> tuple[date, date]:
    """First and last date the calendar can answer for."""
    sessions = _sessions()
    return sessions[0].astype(date), sessions[-1].astype(date)


def _check(day: date) -> np.datetime64:
    first, last = calendar_bounds()
    if not first <= day <= last:
        raise CalendarRangeError(
            f"date {day.isoformat()} is outside the KRX calendar bounds "
            f"{first.isoformat()}..{last.isoformat()}"
        )
    return np.datetime64(day, "D")


def trading_days(start: date, end: date) -> list[date]:
    """KRX trading days in [start, end], both inclusive; empty if end < start."""
    if end < start:
        return []
    lo, hi = _check(start), _check(end)
    sessions = _sessions()
    window = sessions[np.searchsorted(sessions, lo, "left") : np.searchsorted(sessions, hi, "right")]
    return [d.astype(date) for d in window]


def is_trading_day(day: date) -> bool:
    key = _check(day)
    sessions = _sessions()
    index = int(np.searchsorted(sessions, key, "left"))
    return index < len(sessions) and sessions[index] == key


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before `day`."""
    sessions = _sessions()
    index = int(np.searchsorted(sessions, _check(day), "left")) - 1
    if index < 0:
        raise CalendarRangeError(f"no KRX trading day before {day.isoformat()} within the calendar bounds")
    return sessions[index].astype(date)


def next_trading_day(day: date) -> date:
    """The first trading day strictly after `day`."""
    sessions = _sessions()
    index = int(np.searchsorted(sessions, _check(day), "right"))
    if index >= len(sessions):
        raise CalendarRangeError(f"no KRX trading day after {day.isoformat()} within the calendar bounds")
    return sessions[index].astype(date)


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (the month's last day when it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))
