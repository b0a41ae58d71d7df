"""When the portal's tables for a trading day are published, so the client never asks earlier.

- Short-selling balance (MDCSTAT30501/30502) for trading day T is reported on T+2 and visible from the
  morning of T+3 (trading days; KRX's rule, see docs/krx_portal.md). The hour of that morning is not
  documented: BALANCE_VISIBLE_FROM (09:00 KST) is our default. The history starts on 2016-06-30; an earlier
  day is an empty answer without a request.
- Investor tables (MDCSTAT02401) for T exist after the close; when they are final is not documented.
  INVESTOR_FINAL_AFTER (18:00 KST, after the after-hours sessions) is our default: a table read earlier
  may still change, and a partial table cannot be told from a final one.
Both are settings of the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from kis_intel_assets import krx_calendar

KST = timezone(timedelta(hours=9))
BALANCE_LAG_TRADING_DAYS = 3
BALANCE_HISTORY_START = date(2016, 6, 30)  # the portal's short-balance history starts here
BALANCE_VISIBLE_FROM = time(9, 0)
INVESTOR_FINAL_AFTER = time(18, 0)
SHORT_BALANCE, INVESTOR_FLOWS = "short_balance", "investor_flows"


def trading_days_after(day: date, count: int) -> date:
    """The trading day `count` trading days after `day`."""
    for _ in range(count):
        day = krx_calendar.next_trading_day(day)
    return day


@dataclass(frozen=True)
class PublicationGates:
    balance_visible_from: time = BALANCE_VISIBLE_FROM
    balance_lag_trading_days: int = BALANCE_LAG_TRADING_DAYS
    investor_final_after: time = INVESTOR_FINAL_AFTER

    def available_from(self, dataset: str, day: date) -> datetime:
        """The first KST instant `dataset` for trading day `day` may be requested."""
        if dataset == SHORT_BALANCE:
            visible = trading_days_after(day, self.balance_lag_trading_days)
            return datetime.combine(visible, self.balance_visible_from, KST)
        if dataset == INVESTOR_FLOWS:
            return datetime.combine(day, self.investor_final_after, KST)
        raise ValueError(f"unknown KRX dataset {dataset!r}")
