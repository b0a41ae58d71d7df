"""When KIS's daily data for a day is final, how far back it serves, and which days a run could not get.

What is known (docs/kis_protocol.md §8-§9; the official samples say no more):
- FHPTJ04160001 refuses every request with rt_cd "2" / OPSQ2001 "TIME LIMIT 00:00 ~ 15:40" until 15:41
  KST (live, two projects); whether past dates are refused too before then is unknown.
- FHKST01010900 fills today's row only after the close (sample docstring), ≈ 15:40.
- FHKST03010100's row for today is the running session until the 15:30 close.
- Short selling (FHPST04830000) and programme data (FHPPG04650201, FHPPG04600001): same-day after the
  close; the exact time is UNVERIFIED. 15:40 is assumed; a day that still has no row for any stock after
  that is reported as not published rather than as missing.
- FHPPG04600001: "8개월 이상 과거 조회 불가" (spec): days 8 months or more back are not served.
- Stock lending (HHPST074500C0): when day T's 대차 figures appear is unknown (the same evening, or the next
  trading day): a day with no row for any stock is "not published" until the end of the next trading day.

The client's "now" is KIS's own clock (the HTTP Date header of its latest answer), so a wrong local
clock or time zone cannot mark a day final early; before any answer it is the local clock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from types import MappingProxyType

from kis_intel_assets.krx_calendar import months_before, previous_trading_day

KST = timezone(timedelta(hours=9))
FINAL_AFTER: Mapping[str, time] = MappingProxyType(
    {
        "FHPTJ04160001": time(15, 41),
        "FHKST01010900": time(15, 40),
        "FHKST03010100": time(15, 30),
        "FHPST04830000": time(15, 40),
        "FHPPG04650201": time(15, 40),
        "FHPPG04600001": time(15, 40),
    }
)
# Trading days after T that T's data may still be unpublished (0, the default: T itself only).
PUBLICATION_LAG_DAYS: Mapping[str, int] = MappingProxyType({"HHPST074500C0": 1})
HISTORY_MONTHS: Mapping[str, int] = MappingProxyType({"FHPPG04600001": 8})
UNPUBLISHED = "unpublished"
BEYOND_HISTORY = "beyond_history"


class ServerClock:
    """KIS's time as last reported in a response's Date header (thread-safe enough: one assignment)."""

    def __init__(self) -> None:
        self._last: datetime | None = None

    @property
    def observed(self) -> bool:
        return self._last is not None

    def observe(self, header: str | None) -> None:
        if not header:
            return
        try:
            self._last = parsedate_to_datetime(header).astimezone(KST)
        except (TypeError, ValueError):
            return

    def now(self) -> datetime:
        return self._last or datetime.now(KST)


def is_final(tr_id: str, day: date, now: datetime) -> bool:
    """Whether `tr_id`'s data for `day` is final at `now` (KST)."""
    today = now.date()
    return day < today or (day == today and now.time() >= FINAL_AFTER.get(tr_id, time(15, 40)))


def oldest_pending(tr_id: str, today: date) -> date:
    """The oldest day `tr_id` may still not have published on `today` (KST): a day from it to today
    with no row for any stock is not published yet rather than missing."""
    day = today
    for _ in range(PUBLICATION_LAG_DAYS.get(tr_id, 0)):
        day = previous_trading_day(day)
    return day


def history_floor(tr_id: str, now: datetime) -> date | None:
    """The newest day `tr_id` no longer serves (None: no known limit)."""
    months = HISTORY_MONTHS.get(tr_id)
    return months_before(now.date(), months) if months else None


class UnservedDays:
    """Days of a run that KIS could not serve, per TR ID: {day: (kind, reason)}; thread-safe."""

    def __init__(self) -> None:
        self._days: dict[str, dict[date, tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def record(self, tr_id: str, days: list[date], kind: str, reason: str) -> None:
        with self._lock:
            entries = self._days.setdefault(tr_id, {})
            for day in days:
                entries.setdefault(day, (kind, reason))

    def days(self, tr_id: str) -> dict[date, tuple[str, str]]:
        with self._lock:
            return dict(self._days.get(tr_id, {}))
