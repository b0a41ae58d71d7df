"""One partitions definition shared by every daily asset: KRX trading days in Asia/Seoul.

Weekends are excluded by cron and KRX holidays by date (from exchange_calendars' XKRX), so a backfill
never schedules a run for a day the exchange was closed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from kis_intel_assets import settings
from kis_intel_assets.defs.failures import deterministic_failure, setting_at_load
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.krx_calendar import calendar_bounds, is_trading_day
from kis_intel_assets.settings import PARTITION_START_ENV

SEOUL = ZoneInfo("Asia/Seoul")
WEEKENDS = "0 0 * * 6,0"


def partition_start() -> date:
    """KIS_INTEL_PARTITION_START, which must lie inside the KRX calendar."""
    start = settings.partition_start()
    first, _ = calendar_bounds()
    if start < first:
        raise ConfigurationError(f"{PARTITION_START_ENV}={start} is before the KRX calendar starts ({first})")
    return start


def krx_holidays(start: date) -> list[datetime]:
    """Weekdays the exchange was (or will be) closed, from `start` to the calendar's horizon."""
    _, last = calendar_bounds()
    day, holidays = start, []
    while day <= last:
        if day.weekday() < 5 and not is_trading_day(day):
            holidays.append(datetime(day.year, day.month, day.day, tzinfo=SEOUL))
        day += timedelta(days=1)
    return holidays


def build_trading_day_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1 makes today's partition exist before midnight, so the after-close schedule can fill it.
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(),
        timezone="Asia/Seoul",
        end_offset=1,
        exclusions=[WEEKENDS, *krx_holidays(start)],
    )


trading_day_partitions = build_trading_day_partitions(setting_at_load(partition_start))


def partition_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last trading day of the run's partition, or of its range in a single-run backfill.

    Dagster rejects an unknown single partition key but takes range tags as given, so a range ending on
    a weekend, a holiday or before the partition start is refused here, before anything is fetched.
    """
    key_range = context.partition_key_range
    for key in (key_range.start, key_range.end):
        if not trading_day_partitions.has_partition_key(key):
            raise deterministic_failure(
                f"partition range {key_range.start}...{key_range.end}: {key!r} is not a KRX "
                f"trading-day partition (from {trading_day_partitions.start:%Y-%m-%d} on)"
            )
    start, end = date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
    if start > end:
        raise deterministic_failure(
            f"partition range {key_range.start}...{key_range.end} is reversed: the first day must not be "
            f"after the last (did you mean {key_range.end}...{key_range.start}?)"
        )
    return start, end
