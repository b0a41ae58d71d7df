"""How close an undesignated stock is to a type ① 공매도 과열종목 designation (krx_market.md §1.1).

Type ① (the only type that needs all three inputs of the day): price down 5-10%, short ratio at least the
previous quarter's threshold (3 × the market's value-weighted short ratio, capped at 20%), and short value
at least 6× (KOSPI) / 5× (KOSDAQ) its 40-day average. Closeness is the mean of the three conditions'
progress, each capped at 1:

    drop     = clamp(price drop % / 5, 0, 1)            (a rise counts as 0)
    ratio    = clamp(short ratio / quarter threshold, 0, 1)
    multiple = clamp(short value / 40-day average / required multiple, 0, 1)
    closeness = 100 × (drop + ratio + multiple) / 3    (100 = every condition met)

The mean (not the minimum) ranks a stock with a heavy short build-up on an up day above a quiet one,
which is what a watch list wants. Stocks the rule excludes (traded on fewer than 20 of the 40 days, or a
40-day average of 0) are left out. The baseline days are the 40 stored trading days before T outside the
full short-selling bans, as in kis_intel_assets.analytics.short_overheat. The quarter threshold is the one
the analytics stored with this quarter's designations when there are any (exact, cheap); otherwise it is
computed from the previous calendar quarter, falling back to the 20% cap when that quarter has fewer than
20 usable days (the analytics look further back; the page names the source it used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kis_intel_assets.analytics.short_overheat import (
    BASELINE_DAYS,
    FULL_BANS,
    MIN_QUARTER_DAYS,
    MIN_TRADED_DAYS,
    MULTIPLE_TYPES_1_2,
    QUARTER_CAP,
    QUARTER_MULTIPLE,
)

TYPE1_DROP_PCT = 5.0
CANDIDATE_LIMIT = 20


@dataclass(frozen=True)
class QuarterThreshold:
    value: float
    source: str  # e.g. "3 × 2025Q2 KOSPI ratio 4.10%" or "20% cap: 2025Q1 has 0 usable days"


def outside_bans(days: list[date]) -> list[date]:
    bans = [(date.fromisoformat(first), date.fromisoformat(last)) for first, last in FULL_BANS]
    return [day for day in days if not any(first <= day <= last for first, last in bans)]


def baseline_days(stored: list[date], day: date) -> list[date]:
    """The 40 non-ban stored days before `day`, or [] when history is shorter than that."""
    before = outside_bans([d for d in stored if d < day])
    return before[-BASELINE_DAYS:] if len(before) >= BASELINE_DAYS else []


def previous_quarter(day: date) -> tuple[date, date, str]:
    """First day, last day and label ('2025Q2') of the calendar quarter before `day`'s."""
    start = quarter_start(day)
    year, month = (start.year - 1, 10) if start.month == 1 else (start.year, start.month - 3)
    first = date(year, month, 1)
    return first, date.fromordinal(start.toordinal() - 1), f"{year}Q{(month - 1) // 3 + 1}"


def quarter_days(stored: list[date], day: date) -> tuple[list[date], str]:
    first, last, label = previous_quarter(day)
    return outside_bans([d for d in stored if first <= d <= last]), label


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def thresholds(
    in_use: dict[str, float], ratios: dict[str, float], usable_days: int, label: str
) -> dict[str, QuarterThreshold]:
    """Per market: the threshold this quarter's designations used, else computed from `ratios`."""
    out = {}
    for market in MULTIPLE_TYPES_1_2:
        ratio = ratios.get(market)
        if market in in_use:
            out[market] = QuarterThreshold(in_use[market], "as used by this quarter's designations")
        elif usable_days < MIN_QUARTER_DAYS or ratio is None:
            out[market] = QuarterThreshold(
                QUARTER_CAP, f"{QUARTER_CAP:.0f}% cap: {label} has {usable_days} usable days stored"
            )
        else:
            value = min(QUARTER_MULTIPLE * ratio, QUARTER_CAP)
            out[market] = QuarterThreshold(value, f"min(3 × {label} {market} ratio {ratio:.2f}%, 20%)")
    return out


def closeness(candidates: pd.DataFrame, limits: dict[str, QuarterThreshold]) -> pd.DataFrame:
    """Eligible candidates with drop/ratio/multiple progress and closeness (%), closest first."""
    frame = candidates[
        (candidates["traded_days"] >= MIN_TRADED_DAYS) & (candidates["avg_short_value_40d"] > 0)
    ].copy()
    threshold = frame["market"].map({m: t.value for m, t in limits.items()}).astype(float)
    required = frame["market"].map(MULTIPLE_TYPES_1_2).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["price_change_pct"] = 100.0 * (frame["close"] / frame["previous_close"] - 1.0)
        frame["short_value_multiple"] = frame["short_amount"] / frame["avg_short_value_40d"]
    frame["quarter_ratio_threshold"] = threshold
    frame["required_multiple"] = required
    progress = {
        "drop_progress": (-frame["price_change_pct"] / TYPE1_DROP_PCT).fillna(0.0),
        "ratio_progress": frame["short_ratio"] / threshold,
        "multiple_progress": frame["short_value_multiple"] / required,
    }
    for name, values in progress.items():
        frame[name] = values.clip(lower=0.0, upper=1.0)
    frame["closeness_pct"] = 100.0 * frame[list(progress)].mean(axis=1)
    frame = frame.sort_values(
        ["closeness_pct", "short_value_multiple", "symbol"], ascending=[False, False, True]
    )
    return frame.head(CANDIDATE_LIMIT).reset_index(drop=True)
