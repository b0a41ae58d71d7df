"""공매도 과열종목: every type per market, priority, exclusions, ban extension, ban-period masking."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kis_intel_assets.analytics import market_day_totals, quarterly_short_ratio, short_overheat
from kis_intel_assets_tests.support.overheat_scenarios import (
    AFTER_T,
    EXPECTED,
    T,
    on_day,
    rows,
    scenario_frame,
)


def test_every_type_in_both_markets_with_priority() -> None:
    result = short_overheat(scenario_frame())

    assert dict(zip(result["symbol"], result["rule_type"], strict=True)) == EXPECTED
    assert (result["time"] == pd.Timestamp(T)).all()
    assert result["quarter_ratio_threshold"].tolist() == pytest.approx([3.0] * len(result))
    by_symbol = result.set_index("symbol")
    assert by_symbol.loc["KSPI01", "price_change_pct"] == pytest.approx(-7.0)
    assert by_symbol.loc["KSPI01", "short_value_multiple"] == pytest.approx(7.0)
    assert by_symbol.loc["KSPI01", "avg_short_value_40d"] == pytest.approx(100.0)
    assert by_symbol.loc["KSDQ03", "short_ratio_40d"] == pytest.approx(6.0)
    assert (by_symbol["traded_days_40d"] == 40).all()
    assert list(result.columns)[:8] == [
        "time", "symbol", "market", "rule_type", "price_change_pct", "short_ratio", "short_value_multiple",
        "avg_short_value_40d",
    ]  # fmt: skip


def test_ban_is_the_next_day_and_extends_while_the_price_falls_five_percent() -> None:
    frame = scenario_frame()
    falls = frame["symbol"] == "KSPI02"
    frame.loc[falls & (frame["time"] == AFTER_T[0]), "close"] = 836  # exactly -5% from 880: extends
    frame.loc[falls & (frame["time"] == AFTER_T[1]), "close"] = 811  # -3%: the ban ends
    frame.loc[falls & (frame["time"] == AFTER_T[2]), "close"] = 811

    result = short_overheat(frame).set_index("symbol")

    assert result.loc["KSPI02", ["ban_start", "ban_date", "ban_days"]].tolist() == [
        pd.Timestamp(AFTER_T[0]), pd.Timestamp(AFTER_T[1]), 2,
    ]  # fmt: skip
    assert result.loc["KSPI01", ["ban_start", "ban_date", "ban_days"]].tolist() == [
        pd.Timestamp(AFTER_T[0]), pd.Timestamp(AFTER_T[0]), 1,
    ]  # fmt: skip


def test_ban_day_beyond_the_input_comes_from_the_trading_calendar() -> None:
    frame = scenario_frame()
    frame = frame[frame["time"] <= T]

    without_calendar = short_overheat(frame)
    with_calendar = short_overheat(frame, trading_days=[date(2025, 12, 16)])

    assert without_calendar["ban_start"].isna().all() and (without_calendar["ban_days"] == 0).all()
    assert (with_calendar["ban_date"] == pd.Timestamp(2025, 12, 16)).all()


def test_stocks_traded_on_fewer_than_20_of_the_previous_40_days_are_excluded() -> None:
    frame = scenario_frame()
    window = sorted(frame.loc[frame["time"] < T, "time"].unique())[-40:]
    idle_19, idle_20 = window[:21], window[:20]
    frame.loc[
        (frame["symbol"] == "KSPI02") & frame["time"].isin(idle_19), ["trading_value", "short_amount"]
    ] = 0
    frame = frame[~((frame["symbol"] == "KSDQ02") & frame["time"].isin(idle_20))]  # 20 days without a row

    result = short_overheat(frame).set_index("symbol")

    assert "KSPI02" not in result.index  # traded 19 of 40
    assert result.loc["KSDQ02", "traded_days_40d"] == 20
    assert result.loc["KSDQ02", "avg_short_value_40d"] == pytest.approx(20 * 100 / 40)


def test_quarter_threshold_is_three_times_the_value_weighted_average_capped_at_20() -> None:
    frame = scenario_frame()
    q3 = frame["time"] < date(2025, 10, 1)
    frame.loc[q3 & (frame["market"] == "KOSPI"), ["short_amount", "short_ratio"]] = [1_000, 10.0]

    quarters = quarterly_short_ratio(market_day_totals(frame)).set_index(["market", "quarter"])
    result = short_overheat(frame).set_index("symbol")

    assert quarters.loc[("KOSPI", "2025Q3"), "avg_short_ratio"] == pytest.approx(10.0)
    assert quarters.loc[("KOSDAQ", "2025Q3"), "avg_short_ratio"] == pytest.approx(1.0)
    assert result.loc["KSPI04", "quarter_ratio_threshold"] == pytest.approx(20.0)  # min(30, 20)
    assert result.loc["KSDQ01", "quarter_ratio_threshold"] == pytest.approx(3.0)
    assert "KSPI01" not in result.index  # 5% is now below the 20% threshold


def ban_period_frame() -> pd.DataFrame:
    """History before the 2023-11 ban, ban-period rows without shorting, and the 2025-03-31 resumption."""
    before = [d.date() for d in pd.bdate_range("2023-07-03", "2023-11-03")]
    during = [d.date() for d in pd.bdate_range("2025-03-17", "2025-03-28")]
    frame = pd.concat(
        [
            rows(symbol, "KOSPI", before + during + [date(2025, 3, 31)])
            for symbol in ("BANONE", "BANFOR", "BANDAY")
        ],
        ignore_index=True,
    )
    frame.loc[frame["time"].isin(during), ["short_amount", "short_ratio"]] = [0, 0.0]
    on_day(frame, "BANONE", date(2025, 3, 31), 930, 700, 25.0)
    on_day(frame, "BANFOR", date(2025, 3, 31), 960, 300, 22.0)  # ④ only under April's 20% ratio
    on_day(frame, "BANDAY", date(2025, 3, 20), 880, 700, 5.0)  # looks like ② but is inside the ban
    frame.loc[(frame["symbol"] == "BANDAY") & (frame["time"] == date(2025, 3, 21)), "close"] = 1_000
    return frame


def test_baselines_skip_the_full_ban_period() -> None:
    result = short_overheat(ban_period_frame()).set_index("symbol")

    assert sorted(result.index) == ["BANFOR", "BANONE"]  # nothing is designated on a ban day
    assert (result["time"] == pd.Timestamp(2025, 3, 31)).all()
    # The 40 days are the last 40 before the ban (all short 100); the zero-short ban rows do not count.
    assert result.loc["BANONE", "avg_short_value_40d"] == pytest.approx(100.0)
    assert result.loc["BANONE", "short_value_multiple"] == pytest.approx(7.0)
    assert result.loc["BANONE", "rule_type"] == 1
    # 2024Q4..2025Q1 have no usable days, so the threshold comes from 2023Q4 (1% -> 3%).
    assert result.loc["BANONE", "quarter_ratio_threshold"] == pytest.approx(3.0)
    assert result.loc["BANFOR", "rule_type"] == 4


def test_bad_input_is_named() -> None:
    frame = scenario_frame()
    with pytest.raises(ValueError, match="missing columns"):
        short_overheat(frame.drop(columns="short_ratio"))
    with pytest.raises(ValueError, match="percent between 0 and 100"):
        short_overheat(frame.assign(short_ratio=frame["short_ratio"] / 100 - 1))
    with pytest.raises(ValueError, match="duplicate"):
        short_overheat(pd.concat([frame, frame.iloc[:1]]))
