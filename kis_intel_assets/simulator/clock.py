"""The simulator's clock (KST) and when each dataset's day becomes final on it.

Live KIS serves a day's daily data only after the close, and each TR shows "not yet" its own way
(docs/kis_protocol.md §8). The forms, per TR, before the day's publication time:

- ``refuse``: the whole request is refused with rt_cd "2" / OPSQ2001 "TIME LIMIT 00:00 ~ 15:40"
  (FHPTJ04160001, seen live by two projects). Whether a request for *past* days is refused too before
  15:41 is unknown: ``time_limit_scope`` "all" refuses every request, "today" only those whose anchor
  date is today (or blank).
- ``blank``: today's row is on top with every value "" (FHKST01010900; sample: "당일 데이터는 장 종료 후").
- ``partial``: today's row carries the session so far (FHKST03010100's candle grows until the close).
- ``absent``: today's row is simply not there yet.

Publication times of short selling and programme data are not documented anywhere we could read: the
defaults (15:40, absent) are a simulator choice, switchable per TR with ``publication``. Stock lending
(HHPST074500C0) is unknown too: by default day T appears the same evening at 18:00; ``days_late`` moves it
to a later trading day (``HHPST074500C0=08:00+1d`` publishes T at 08:00 of the next trading day).
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

KST = timezone(timedelta(hours=9))
SESSION_OPEN, SESSION_CLOSE = time(9, 0), time(15, 30)
# With no clock set the simulator stands after the last configured day's after-hours session.
AFTER_HOURS_END = time(18, 0)
# The master files (kospi/kosdaq_code.mst.zip) describe trading day D from this KST time on D until the same
# time on the next trading day: KIS regenerates them before the open; the hour is our assumption (the
# product's kis/masters.py MASTER_READY is the same).
MASTER_READY = time(8, 0)
FORMS = ("refuse", "blank", "partial", "absent")
TIME_LIMIT_SCOPES = ("all", "today")


@dataclass(frozen=True)
class Publication:
    final_after: time  # from this KST time on the day's data is final
    before: str  # what a request sees before that: one of FORMS
    days_late: int = 0  # `final_after` is on the day itself (0) or this many trading days after it

    def __post_init__(self) -> None:
        if self.before not in FORMS:
            raise ValueError(f"publication form must be one of {FORMS}, got {self.before!r}")


DEFAULT_PUBLICATION: Mapping[str, Publication] = {
    "FHPTJ04160001": Publication(time(15, 41), "refuse"),  # live: refused 15:40:59, served 15:41:00
    "FHKST01010900": Publication(time(15, 40), "blank"),
    "FHKST03010100": Publication(SESSION_CLOSE, "partial"),
    "FHPST04830000": Publication(time(15, 40), "absent"),  # unknown (simulator choice)
    "FHPPG04650201": Publication(time(15, 40), "absent"),  # unknown (simulator choice)
    "FHPPG04600001": Publication(time(15, 40), "absent"),  # unknown (simulator choice)
    "HHPST074500C0": Publication(time(18, 0), "absent"),  # unknown (simulator choice): same evening
}
GENERIC = Publication(time(15, 40), "absent")  # every other daily TR
_SPEC = re.compile(
    r"(?P<tr>[A-Z0-9]+)=(?P<hh>\d{1,2}):(?P<mm>\d{2})(?:\+(?P<late>\d)d)?(?:/(?P<form>[a-z]+))?"
)


def parse_publication(spec: str) -> dict[str, Publication]:
    """`TR=HH:MM[+Nd][/form],...` (CLI) -> overrides; the form defaults to the TR's default form, +Nd
    publishes N trading days after the day."""
    overrides: dict[str, Publication] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = _SPEC.fullmatch(part)
        if match is None:
            raise ValueError(f"publication override must look like FHPST04830000=16:10/absent, got {part!r}")
        tr_id = match["tr"]
        form = match["form"] or DEFAULT_PUBLICATION.get(tr_id, GENERIC).before
        at = time(int(match["hh"]), int(match["mm"]))
        overrides[tr_id] = Publication(at, form, int(match["late"] or 0))
    return overrides


def parse_now(text: str) -> datetime:
    """`--now 2025-06-30T15:00` (naive = KST)."""
    try:
        return as_kst(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"--now must be an ISO date-time like 2025-06-30T15:00, got {text!r}") from None


_OFFSET = re.compile(r"(?P<sign>[+-]?)(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?")


def parse_offset(text: str) -> timedelta:
    """`--time-offset -2h30m` / `3d` / `+15m` -> timedelta."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None or not any(match[k] for k in "dhm"):
        raise ValueError(f"--time-offset must look like -2h30m, 3d or +15m, got {text!r}")
    delta = timedelta(days=int(match["d"] or 0), hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
    return -delta if match["sign"] == "-" else delta


def as_kst(moment: datetime) -> datetime:
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)


class SimClock:
    """Simulated KST time: fixed (`now`), or the real time shifted (`offset`), or unset.

    A clock started with `now` and `running=True` advances with real time from that instant, which is
    what `kis-intel simulator --now ...` does; tests usually keep it fixed and move it with `set`.
    """

    def __init__(self, now: datetime | None = None, offset: timedelta | None = None, running: bool = False):
        self._fixed: datetime | None = None
        self._offset = offset
        self._running_from: float | None = None
        self.set(now, running=running)

    def set(self, now: datetime | None, *, running: bool = False) -> None:
        self._fixed = as_kst(now) if now is not None else None
        self._running_from = _time.monotonic() if running and now is not None else None

    def now(self) -> datetime | None:
        if self._fixed is not None:
            if self._running_from is None:
                return self._fixed
            return self._fixed + timedelta(seconds=_time.monotonic() - self._running_from)
        if self._offset is not None:
            return datetime.now(KST) + self._offset
        return None


def session_fraction(moment: time) -> float:
    """Share of the regular session (09:00-15:30) elapsed at `moment`, in [0, 1]."""
    opened = SESSION_OPEN.hour * 60 + SESSION_OPEN.minute
    closed = SESSION_CLOSE.hour * 60 + SESSION_CLOSE.minute
    minutes = moment.hour * 60 + moment.minute + moment.second / 60
    return min(max((minutes - opened) / (closed - opened), 0.0), 1.0)


def default_now(last_day: date) -> datetime:
    return datetime.combine(last_day, AFTER_HOURS_END, KST)
