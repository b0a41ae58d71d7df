"""The KRX calendar's disk cache: built once into KIS_INTEL_CACHE_DIR, read back by the next process, and
never a failure when the folder cannot be written; days beyond the calendar are one clear error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kis_intel_assets import krx_calendar
from kis_intel_assets.krx_calendar import CalendarRangeError, calendar_bounds, trading_days

JUNE_2025 = trading_days(date(2025, 6, 2), date(2025, 6, 5))  # 06-03 was election day


@pytest.fixture
def fresh_calendar(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """This process forgets its sessions before and after the test (the next caller reloads them)."""
    krx_calendar._sessions.cache_clear()
    yield monkeypatch
    krx_calendar._sessions.cache_clear()


def test_the_sessions_are_cached_on_disk_and_read_back(
    fresh_calendar: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fresh_calendar.setenv("KIS_INTEL_CACHE_DIR", str(tmp_path / "cache"))
    assert trading_days(date(2025, 6, 2), date(2025, 6, 5)) == JUNE_2025
    cached = list((tmp_path / "cache").iterdir())
    assert [path.suffix for path in cached] == [".npy"] and cached[0].name.startswith("xkrx-")

    written = cached[0].stat()

    krx_calendar._sessions.cache_clear()  # what the next process does: read the file, not rebuild it
    assert trading_days(date(2025, 6, 2), date(2025, 6, 5)) == JUNE_2025
    assert list((tmp_path / "cache").iterdir()) == cached
    assert (cached[0].stat().st_ino, cached[0].stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_an_unwritable_cache_folder_costs_only_the_rebuild(
    fresh_calendar: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    fresh_calendar.setenv("KIS_INTEL_CACHE_DIR", str(blocker))
    assert trading_days(date(2025, 6, 2), date(2025, 6, 5)) == JUNE_2025
    assert blocker.is_file()


def test_neighbours_beyond_the_calendar_are_one_clear_error() -> None:
    first, last = calendar_bounds()
    assert krx_calendar.previous_trading_day(date(2025, 6, 4)) == date(2025, 6, 2)
    assert krx_calendar.next_trading_day(date(2025, 6, 2)) == date(2025, 6, 4)
    with pytest.raises(CalendarRangeError, match=f"no KRX trading day before {first.isoformat()}"):
        krx_calendar.previous_trading_day(first)
    with pytest.raises(CalendarRangeError, match=f"no KRX trading day after {last.isoformat()}"):
        krx_calendar.next_trading_day(last)
    with pytest.raises(CalendarRangeError, match="outside the KRX calendar bounds"):
        krx_calendar.is_trading_day(date(2009, 12, 31))
