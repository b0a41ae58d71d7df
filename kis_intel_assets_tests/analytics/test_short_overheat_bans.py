"""공매도 과열종목 around the two full short-selling bans: history that starts inside a ban, and the
thresholds that apply once short selling resumes (issue 16, defect 2)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import market_day_totals, quarterly_short_ratio, short_overheat
from kis_intel_assets.analytics.short_overheat import FULL_BANS
from kis_intel_assets.krx_calendar import trading_days

BANS = [(date.fromisoformat(first), date.fromisoformat(last)) for first, last in FULL_BANS]
TRADING = 10_000
BASE_SHORT = 100  # 1% short ratio on every open day: the quarter threshold is 3 × 1% = 3%


def history(first: date, last: date, symbols: dict[str, str]) -> pd.DataFrame:
    """Flat stocks (close 1,000, value 10,000) shorting 1% of value on open days and nothing in a ban."""
    days = trading_days(first, last)
    banned = np.array([any(a <= day <= b for a, b in BANS) for day in days])
    frames = [
        pd.DataFrame(
            {
                "time": days,
                "symbol": symbol,
                "market": market,
                "close": 1_000,
                "trading_value": TRADING,
                "short_amount": np.where(banned, 0, BASE_SHORT),
                "short_ratio": np.where(banned, 0.0, 100.0 * BASE_SHORT / TRADING),
            }
        )
        for symbol, market in symbols.items()
    ]
    return pd.concat(frames, ignore_index=True)


def plant(frame: pd.DataFrame, symbol: str, day: date, close: int, short: int, ratio: float) -> None:
    """A day's close, short value and short ratio (trading value follows from the ratio)."""
    at = (frame["symbol"] == symbol) & (frame["time"] == day)
    assert at.sum() == 1, (symbol, day)
    frame.loc[at, ["close", "short_amount", "short_ratio", "trading_value"]] = [
        close, short, ratio, round(short * 100 / ratio),
    ]  # fmt: skip


def open_days_after(ban_end: date, count: int, last: date) -> list[date]:
    return [day for day in trading_days(ban_end, last) if day > ban_end][:count]


@pytest.mark.parametrize("ban", BANS, ids=["2020-ban", "2023-ban"])
def test_history_that_lies_inside_a_ban_designates_nothing_instead_of_crashing(
    ban: tuple[date, date],
) -> None:
    """A deployment that starts inside a ban: every stored day is a ban day (the asset's daily run)."""
    daily = history(ban[0] + pd.Timedelta(days=30), ban[0] + pd.Timedelta(days=120), {"INBAN1": "KOSPI"})
    plant(daily, "INBAN1", daily["time"].iloc[-1], 880, 300, 35.0)

    for quarters in (None, quarterly_short_ratio(market_day_totals(daily))):
        designated = short_overheat(daily, quarters)  # before the fix: IndexError (size 0)

        assert designated.empty
        assert list(designated.columns)[:4] == ["time", "symbol", "market", "rule_type"]


@pytest.mark.parametrize("ban", BANS, ids=["2020-ban", "2023-ban"])
def test_history_starting_inside_a_ban_designates_once_forty_open_days_have_passed(
    ban: tuple[date, date],
) -> None:
    first, last = ban[0] + pd.Timedelta(days=45), ban[1] + pd.Timedelta(days=150)
    daily = history(first, last, {"EARLY1": "KOSPI", "LATE01": "KOSPI", "INBAN1": "KOSPI"})
    after = open_days_after(ban[1], 45, last)
    # Type ④ spikes (drop 4%, ratio 35%, multiple 3 over a 1% baseline): one 10 open days after the
    # resumption (its 40-day window still reaches into the unrecorded ban), one 45 days after.
    plant(daily, "EARLY1", after[9], 960, 300, 35.0)
    plant(daily, "LATE01", after[44], 960, 300, 35.0)
    inside = trading_days(first, ban[1])[30]
    plant(daily, "INBAN1", inside, 880, 300, 35.0)  # a crash inside the ban never designates

    for quarters in (
        None,
        quarterly_short_ratio(market_day_totals(daily)),
    ):  # the asset passes the table explicitly
        designated = short_overheat(daily, quarters)

        assert designated["symbol"].tolist() == ["LATE01"]
        assert designated["rule_type"].tolist() == [4]
        assert designated["time"].dt.date.tolist() == [after[44]]


def test_after_the_2020_ban_the_quarter_threshold_comes_from_the_first_open_quarter() -> None:
    """History from inside the 2020-21 ban: 2021Q2 (from 2021-05-03) is the first quarter with ≥ 20 open
    days, so 2021Q3 rows use 3 × its 1% ratio and type ① designates; 2021Q2 rows have no threshold."""
    first, last = date(2020, 6, 1), date(2021, 9, 30)
    daily = history(first, last, {"TYPE1A": "KOSPI", "TYPE1B": "KOSPI", "TYPE1C": "KOSDAQ"})
    july = open_days_after(BANS[0][1], 60, last)[-1]
    assert july.month == 7 and july.year == 2021
    plant(daily, "TYPE1A", july, 930, 700, 5.0)  # ① drop 7%, ratio 5% ≥ 3%, multiple 7 ≥ 6
    plant(daily, "TYPE1B", july, 930, 700, 2.5)  # ratio below the 3% threshold: nothing
    plant(daily, "TYPE1C", july, 930, 550, 5.0)  # ① with KOSDAQ's 5× multiple

    designated = short_overheat(daily).set_index("symbol")

    assert designated["rule_type"].to_dict() == {"TYPE1A": 1, "TYPE1C": 1}
    assert designated["quarter_ratio_threshold"].tolist() == pytest.approx([3.0, 3.0])


def test_on_the_2021_resumption_the_baseline_and_threshold_skip_the_ban() -> None:
    """History from before the 2020 ban: on 2021-05-03 the 40 days are pre-ban days and the previous
    quarter is 2020Q1 (2020Q2 .. 2021Q1 were banned)."""
    first, last = date(2019, 12, 2), date(2021, 5, 31)
    daily = history(first, last, {"RESUM1": "KOSPI"})
    resumption = open_days_after(BANS[0][1], 1, last)[0]
    assert resumption == date(2021, 5, 3)
    plant(daily, "RESUM1", resumption, 930, 700, 5.0)

    designated = short_overheat(daily)

    assert designated["time"].dt.date.tolist() == [resumption]
    assert designated["rule_type"].tolist() == [1]
    assert designated["quarter_ratio_threshold"].iloc[0] == pytest.approx(3.0)
    assert designated["avg_short_value_40d"].iloc[0] == pytest.approx(BASE_SHORT)


def test_after_the_2023_ban_the_april_and_may_2025_resumption_steps_apply() -> None:
    """Type ④ needs a 20% ratio in April 2025 (from 03-31), 25% in May and 30% from June; KOSDAQ type ③
    needs a 3× multiple in April, 4× in May and 5× from June. Baselines and the 2023Q4 threshold skip the
    ban, so the first resumption day can designate."""
    first, last = date(2023, 8, 1), date(2025, 6, 30)
    symbols = {f"R{month}{kind}": market for month in ("APR", "MAY", "JUN")
               for kind, market in (("4A", "KOSPI"), ("4B", "KOSPI"), ("3A", "KOSDAQ"))}  # fmt: skip
    daily = history(first, last, symbols)
    # Type ③'s 40-day ratio needs ≥ 5%: the KOSDAQ candidates short 6% of value on every open day.
    kosdaq3 = daily["symbol"].str.endswith("3A") & (daily["short_amount"] > 0)
    daily.loc[kosdaq3, ["short_amount", "short_ratio"]] = [600, 6.0]
    for month, day in (("APR", date(2025, 3, 31)), ("MAY", date(2025, 5, 2)), ("JUN", date(2025, 6, 2))):
        plant(daily, f"R{month}4A", day, 960, 220, 22.0)  # ratio 22%, multiple 2.2
        plant(daily, f"R{month}4B", day, 960, 270, 27.0)  # ratio 27%, multiple 2.7
        plant(daily, f"R{month}3A", day, 1_000, 2_100, 6.0)  # multiple 3.5 over a 600 baseline

    designated = short_overheat(daily).set_index("symbol")

    assert designated["rule_type"].to_dict() == {"RAPR4A": 4, "RAPR4B": 4, "RAPR3A": 3, "RMAY4B": 4}
    assert designated.loc["RAPR4A", "time"].date() == date(2025, 3, 31)
    # 3 × 2023Q4's ratio: 1% on KOSPI, 6% on KOSDAQ (under the 20% cap).
    assert designated["quarter_ratio_threshold"].to_dict() == pytest.approx(
        {"RAPR4A": 3.0, "RAPR4B": 3.0, "RAPR3A": 18.0, "RMAY4B": 3.0}
    )
