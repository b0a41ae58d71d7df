from datetime import date

import pytest

from kis_intel_assets import krx_calendar


def test_weekends_and_holidays_are_closed() -> None:
    assert not krx_calendar.is_trading_day(date(2025, 1, 4))  # Saturday
    assert not krx_calendar.is_trading_day(date(2025, 1, 5))  # Sunday
    assert not krx_calendar.is_trading_day(date(2025, 1, 1))  # New Year
    for day in (6, 7, 8):
        assert not krx_calendar.is_trading_day(date(2025, 10, day))  # Chuseok 2025
    assert krx_calendar.is_trading_day(date(2025, 1, 2))
    assert krx_calendar.is_trading_day(date(2025, 10, 2))


def test_trading_days_range_and_neighbours() -> None:
    days = krx_calendar.trading_days(date(2025, 10, 1), date(2025, 10, 14))
    assert days == [
        date(2025, 10, 1),
        date(2025, 10, 2),
        date(2025, 10, 10),
        date(2025, 10, 13),
        date(2025, 10, 14),
    ]
    assert krx_calendar.trading_days(date(2025, 10, 5), date(2025, 10, 1)) == []
    assert krx_calendar.next_trading_day(date(2025, 10, 2)) == date(2025, 10, 10)
    assert krx_calendar.previous_trading_day(date(2025, 10, 10)) == date(2025, 10, 2)
    assert krx_calendar.previous_trading_day(date(2025, 1, 6)) == date(2025, 1, 3)


def test_dates_outside_the_calendar_raise_a_clear_error() -> None:
    first, last = krx_calendar.calendar_bounds()
    with pytest.raises(krx_calendar.CalendarRangeError, match="outside the KRX calendar bounds"):
        krx_calendar.is_trading_day(date(1990, 1, 2))
    with pytest.raises(krx_calendar.CalendarRangeError, match=last.isoformat()):
        krx_calendar.trading_days(date(2025, 1, 2), date(last.year + 5, 1, 1))
    assert first.year <= 2010
