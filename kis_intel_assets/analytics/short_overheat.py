"""KRX 공매도 과열종목 (overheated short-selling) designation and ban, per docs/krx_rules.md §2.

Input: one row per stock-day with time, symbol, market (KOSPI/KOSDAQ), close, trading_value, short_amount
(KRW) and short_ratio (percent of trading value), plus an optional boolean `baseline_constituent`. The
previous-quarter thresholds come from market-day totals (time, market, trading_value, short_amount), which
give the same value-weighted ratios as every stock-day would at a fraction of the rows.

Two results: `short_overheat` (the designations) and `overheat_candidates` (how close every eligible
stock-day is to a type ① designation, for the watch list of the /overheat page).

Interpretations (each one a choice where the KRX page is silent):
- Criteria: the current table for every date (types ①②④ KOSPI, ①②③④ KOSDAQ; KONEX is not an input
  market). Also modelled, because it is cheap: the resumption thresholds of 2025-03-31..05-31 (type ④
  ratio 20% and KOSDAQ type ③ multiple 3× through April, counting 03-31 with April; 25% and 4× in May).
  Not modelled: the pre-2022-10-24 rules (type ④ and the ban extension are applied to all dates) and the
  temporary 2020-03-10..06-09 criteria.
- Price drop: close vs the symbol's previous row's close; "−5% to −10%" is 5% ≤ drop < 10% and "≥ 10%"
  starts type ②. Drop tests are exact integer comparisons (100·close ≤ (100 − p)·previous close).
- Full-ban days (2020-03-16..2021-05-02, 2023-11-06..2025-03-30) are removed from the calendar of
  baselines and never designate. The market calendar is the set of dates present in the input.
- 40-day baseline: the 40 non-ban market days before T (T excluded). The average short value is their sum
  / 40, a day without a row or without trading counting as 0. A stock that traded (trading_value > 0) on
  fewer than 20 of them is excluded, and so is every stock-day whose 40 days are not all in the input.
  Increase multiple = short value on T / that average; an average of 0 has no multiple and designates
  nothing (unverified how KRX treats it). Type ③'s 40-day average short ratio is value-weighted:
  Σ short value / Σ trading value over the window.
- Previous-quarter threshold for type ① = min(3 × market average, 20%). The average is value-weighted,
  Σ short value / Σ trading value over the market's stock-days of the quarter (non-ban days, trading_value
  > 0), because the published thresholds (e.g. KOSPI 18% → 15% for 2018Q1) match 3× the market-wide value
  ratio, not an equal-weighted one. The reference names KOSPI constituents / KOSDAQ150 constituents; the
  input has no constituent flag, so every stock of the market counts unless `baseline_constituent` is
  given (then only True rows count). "Previous quarter" skips ban-emptied quarters: it is the latest earlier
  calendar quarter with ≥ 20 non-ban days in the input (2025Q2 falls back to 2023Q4). History that starts
  inside a full ban has no such quarter until one passes after the resumption: until then the threshold is
  NaN and type ① cannot designate (the other types and the 40-day baselines do not need it). Pass a
  precomputed `quarter_ratios` (quarterly_short_ratio of market-day totals) to evaluate a short window
  without the quarter's history.
- One designation row per symbol-day with the highest-priority type (①>③,④; ②>③,④; ③>④).
- Ban: the next market day; it extends one day at a time while the stock falls ≥ 5% on a ban day. One row
  per designation: ban_start, ban_date (the last ban day known) and ban_days. Without a later day in the
  calendar (input dates plus the optional `trading_days`), ban_start is NaT / the extension stops at the
  last known day; re-running once the data arrives updates the row (idempotent upsert on symbol, time).
- Closeness to type ① (overheat_candidates): the mean of the three conditions' progress, each capped at 1:
  drop = price drop % / 5 (a rise counts as 0), ratio = short ratio / quarter threshold, multiple = short
  value multiple / 6× (KOSPI) or 5× (KOSDAQ); 100 = every condition met. The mean (not the minimum) ranks
  a stock with a heavy short build-up on an up day above a quiet one, which is what a watch list wants.
  Stock-days the rule excludes (no full 40-day window, traded on fewer than 20 of it, an average of 0)
  have no row. Where the rule has no quarter threshold yet (NaN above) the 20% cap stands in, and
  `threshold_source` says which one was used.
- Known limit: from 2021-05 to 2023-11 only index members could be shorted; a stock joining the index
  then has a near-zero baseline and can show extreme multiples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    DAY_BITS,
    DayLike,
    as_dates,
    entity_codes,
    float_column,
    group_positions,
    grouped_shift,
    require_columns,
    sort_by_entity_day,
    to_day,
)
from kis_intel_assets.markets import MARKETS

INPUT_COLUMNS = ("time", "symbol", "market", "close", "trading_value", "short_amount", "short_ratio")
MARKET_DAY_COLUMNS = ("time", "market", "trading_value", "short_amount")
OUTPUT_COLUMNS = (
    "time", "symbol", "market", "rule_type", "price_change_pct", "short_ratio", "short_value_multiple",
    "avg_short_value_40d", "short_ratio_40d", "traded_days_40d", "quarter_ratio_threshold",
    "ban_start", "ban_date", "ban_days",
)  # fmt: skip
CANDIDATE_COLUMNS = (
    "time", "symbol", "market", "price_change_pct", "short_ratio", "short_value_multiple",
    "avg_short_value_40d", "traded_days_40d", "quarter_ratio_threshold", "threshold_source",
    "required_multiple", "drop_progress", "ratio_progress", "multiple_progress", "closeness_pct",
)  # fmt: skip
CLOSENESS_INPUTS = (
    "symbol", "market", "close", "previous_close", "short_ratio", "short_amount", "avg_short_value_40d",
    "traded_days_40d", "quarter_ratio_threshold",
)  # fmt: skip
FULL_BANS = (("2020-03-16", "2021-05-02"), ("2023-11-06", "2025-03-30"))
BASELINE_DAYS = 40
MIN_TRADED_DAYS = 20
MIN_QUARTER_DAYS = 20
QUARTER_MULTIPLE, QUARTER_CAP = 3.0, 20.0
MULTIPLE_TYPES_1_2 = {"KOSPI": 6, "KOSDAQ": 5}
TYPE1_DROP, TYPE2_DROP = 5, 10
TYPE3_MULTIPLE, TYPE3_RATIO_40D = 5, 5
TYPE4_DROP, TYPE4_RATIO, TYPE4_MULTIPLE = 3, 30.0, 2
EXTENSION_DROP = 5
# (first day, last day, type ④ ratio, KOSDAQ type ③ multiple) while short selling resumed in 2025.
RESUMPTION_STEPS = (("2025-03-31", "2025-04-30", 20.0, 3), ("2025-05-01", "2025-05-31", 25.0, 4))


def _in_ranges(days: np.ndarray, ranges: Iterable[tuple[str, str]]) -> np.ndarray:
    inside = np.zeros(len(days), dtype=bool)
    for first, last in ranges:
        inside |= (days >= to_day(first)) & (days <= to_day(last))
    return inside


def full_ban_days(days: np.ndarray) -> np.ndarray:
    """True for day numbers inside a full short-selling ban."""
    return _in_ranges(days, FULL_BANS)


def _quarter_ids(days: np.ndarray) -> np.ndarray:
    dates = (np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")).astype("datetime64[M]")
    months = dates.astype(np.int64)  # months since 1970-01
    return months // 3


def _quarter_label(quarter_id: int) -> str:
    return f"{1970 + quarter_id // 4}Q{quarter_id % 4 + 1}"


def _market_codes(markets: pd.Series, name: str) -> np.ndarray:
    """Each row's index into MARKETS, raising a named error for any other market."""
    codes, labels = entity_codes(markets, name)
    bad = sorted(set(labels) - set(MARKETS))
    if bad:
        raise ValueError(f"{name} must be one of {MARKETS}, got {bad}")
    return pd.Index(MARKETS).get_indexer(labels)[codes]


def _validated(daily: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """A compact copy sorted by (symbol, time): day numbers, symbol codes, categorical market, numbers."""
    require_columns(daily, INPUT_COLUMNS, "daily")
    order, codes, days, symbols = sort_by_entity_day(daily["symbol"], daily["time"], "daily")
    market_index = _market_codes(daily["market"], "daily.market")[order]
    frame = pd.DataFrame(
        {
            "day": days,
            "code": codes,
            "market": pd.Categorical.from_codes(market_index, categories=pd.Index(MARKETS)),
            **{column: float_column(daily, column, "daily")[order] for column in INPUT_COLUMNS[3:]},
        }
    )
    if (frame["close"] <= 0).any():
        raise ValueError("daily.close must be positive")
    _require_value_columns(frame, "daily")
    if ((frame["short_ratio"] < 0) | (frame["short_ratio"] > 100)).any():
        raise ValueError("daily.short_ratio must be a percent between 0 and 100")
    if "baseline_constituent" in daily.columns:
        frame["baseline_constituent"] = daily["baseline_constituent"].fillna(False).to_numpy(bool)[order]
    return frame, symbols


def _require_value_columns(frame: pd.DataFrame, name: str) -> None:
    """trading_value and short_amount as non-negative whole KRW (in place)."""
    for column in ("trading_value", "short_amount"):
        if (frame[column] < 0).any():
            raise ValueError(f"{name}.{column} has negative values")
        frame[column] = frame[column].astype(np.int64)


def market_day_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """MARKET_DAY_COLUMNS from stock-day rows (baseline constituents only, when the input flags them)."""
    totals = _market_days(_validated(daily)[0])
    return totals.assign(time=as_dates(totals.pop("day").to_numpy()))[list(MARKET_DAY_COLUMNS)]


def _market_days(frame: pd.DataFrame) -> pd.DataFrame:
    if "baseline_constituent" in frame.columns:
        frame = frame[frame["baseline_constituent"]]
    grouped = frame.groupby(["market", "day"], observed=True)[["trading_value", "short_amount"]].sum()
    return grouped.reset_index()


def quarterly_short_ratio(market_days: pd.DataFrame) -> pd.DataFrame:
    """market, quarter ('2024Q3'), trading_days, avg_short_ratio (value-weighted %) per market-quarter,
    from market-day totals (MARKET_DAY_COLUMNS; market_day_totals builds them from stock-days)."""
    require_columns(market_days, MARKET_DAY_COLUMNS, "market_days")
    frame = pd.DataFrame(
        {
            "day": np.array([to_day(day) for day in market_days["time"]], dtype=np.int64),
            "market": pd.Categorical.from_codes(
                _market_codes(market_days["market"], "market_days.market").tolist(),
                categories=pd.Index(MARKETS),
            ),
            **{column: float_column(market_days, column, "market_days") for column in MARKET_DAY_COLUMNS[2:]},
        }
    )
    _require_value_columns(frame, "market_days")
    return _quarter_table(frame)


def _quarter_table(market_days: pd.DataFrame) -> pd.DataFrame:
    """Quarter ratios from market-day rows (day numbers) over their non-ban days with turnover."""
    days = market_days["day"].to_numpy()
    usable = ~full_ban_days(days) & (market_days["trading_value"].to_numpy() > 0)
    used = market_days.loc[usable].assign(quarter_id=_quarter_ids(days[usable]))
    grouped = used.groupby(["market", "quarter_id"], observed=True).agg(
        trading_days=("day", "nunique"),
        short_amount=("short_amount", "sum"),
        trading_value=("trading_value", "sum"),
    )
    grouped = grouped.reset_index()
    return pd.DataFrame(
        {
            "market": grouped["market"].astype(str),
            "quarter": [_quarter_label(q) for q in grouped["quarter_id"]],
            "trading_days": grouped["trading_days"].astype(int),
            "avg_short_ratio": 100.0 * grouped["short_amount"] / grouped["trading_value"],
        }
    )


@dataclass(frozen=True)
class _QuarterThresholds:
    """Per row: the type ① threshold (NaN without a usable quarter), the quarter it comes from (-1: none)
    and that quarter's market ratio."""

    value: np.ndarray
    quarter_id: np.ndarray
    ratio: np.ndarray


def _quarter_thresholds(frame: pd.DataFrame, quarter_ratios: pd.DataFrame) -> _QuarterThresholds:
    """Type ① ratio threshold for every row: from the latest earlier quarter with enough non-ban days."""
    require_columns(
        quarter_ratios, ("market", "quarter", "trading_days", "avg_short_ratio"), "quarter_ratios"
    )
    periods = pd.PeriodIndex(quarter_ratios["quarter"], freq="Q")
    ids = (periods.year - 1970) * 4 + periods.quarter - 1
    found = _QuarterThresholds(
        np.full(len(frame), np.nan), np.full(len(frame), -1, dtype=np.int64), np.full(len(frame), np.nan)
    )
    row_quarters = _quarter_ids(frame["day"].to_numpy())
    for market in MARKETS:
        qualifying = (quarter_ratios["market"] == market).to_numpy() & (
            quarter_ratios["trading_days"].to_numpy() >= MIN_QUARTER_DAYS
        )
        order = np.argsort(ids[qualifying])
        known_ids = np.asarray(ids[qualifying])[order]
        ratios = quarter_ratios["avg_short_ratio"].to_numpy(float)[qualifying][order]
        rows = np.flatnonzero((frame["market"] == market).to_numpy())
        if not len(known_ids):  # e.g. history that starts inside a full ban: no quarter to refer to yet
            continue
        previous = np.searchsorted(known_ids, row_quarters[rows], side="left") - 1
        rows, previous = rows[previous >= 0], previous[previous >= 0]
        found.quarter_id[rows] = known_ids[previous]
        found.ratio[rows] = ratios[previous]
        found.value[rows] = np.minimum(QUARTER_MULTIPLE * ratios[previous], QUARTER_CAP)
    return found


def _baselines(frame: pd.DataFrame, codes: np.ndarray, eligible_days: np.ndarray) -> dict[str, np.ndarray]:
    """40-day sums per row over the non-ban market days before it (NaN without a full window)."""
    day_slot = np.searchsorted(eligible_days, frame["day"].to_numpy())
    padded = np.append(eligible_days, -1)  # a slot past the end (or an empty calendar) matches no day
    in_calendar = padded[day_slot] == frame["day"].to_numpy()
    rows = np.flatnonzero(in_calendar)
    shape = (len(eligible_days) + 1, codes.max() + 1)
    columns = {
        "short": frame["short_amount"].to_numpy(np.int64),
        "trading": frame["trading_value"].to_numpy(np.int64),
        "traded": (frame["trading_value"].to_numpy() > 0).astype(np.int64),
    }
    sums = {}
    valid = in_calendar & (day_slot >= BASELINE_DAYS)
    for name, values in columns.items():
        # cumulative[k] = total over eligible days before slot k; a window is a difference of two rows.
        cumulative = np.zeros(shape, dtype=np.int64)
        cumulative[day_slot[rows] + 1, codes[rows]] = values[rows]
        np.cumsum(cumulative, axis=0, out=cumulative)
        window = np.zeros(len(frame), dtype=np.int64)
        slot, code = day_slot[valid], codes[valid]
        window[valid] = cumulative[slot, code] - cumulative[slot - BASELINE_DAYS, code]
        sums[name] = window
    sums["valid"] = valid
    return sums


def _step_values(days: np.ndarray, column: int, default: float) -> np.ndarray:
    values = np.full(len(days), default, dtype=float)
    for step in RESUMPTION_STEPS:
        values[_in_ranges(days, [(step[0], step[1])])] = step[column]
    return values


def _dropped(close: np.ndarray, previous: np.ndarray, percent: int) -> np.ndarray:
    """close fell by at least `percent` % from previous (exact for integer prices)."""
    with np.errstate(invalid="ignore"):
        return 100.0 * close <= (100.0 - percent) * previous


def _rule_types(frame: pd.DataFrame, base: dict[str, np.ndarray], previous_close: np.ndarray) -> np.ndarray:
    days, close = frame["day"].to_numpy(), frame["close"].to_numpy(float)
    kospi = (frame["market"] == "KOSPI").to_numpy()
    short, ratio = frame["short_amount"].to_numpy(np.int64), frame["short_ratio"].to_numpy(float)
    eligible = _eligible(base)

    def multiple_at_least(multiple: np.ndarray | float) -> np.ndarray:
        return short * BASELINE_DAYS >= multiple * base["short"]

    multiple_12 = np.where(kospi, MULTIPLE_TYPES_1_2["KOSPI"], MULTIPLE_TYPES_1_2["KOSDAQ"])
    drop_5, drop_10 = _dropped(close, previous_close, TYPE1_DROP), _dropped(close, previous_close, TYPE2_DROP)
    with np.errstate(invalid="ignore"):
        type_1 = (
            drop_5
            & ~drop_10
            & (ratio >= frame["quarter_ratio_threshold"].to_numpy())
            & multiple_at_least(multiple_12)
        )
    type_2 = drop_10 & multiple_at_least(multiple_12)
    type_3 = (
        ~kospi
        & multiple_at_least(_step_values(days, 3, TYPE3_MULTIPLE))
        & (100 * base["short"] >= TYPE3_RATIO_40D * base["trading"])
    )
    type_4 = (
        _dropped(close, previous_close, TYPE4_DROP)
        & (ratio >= _step_values(days, 2, TYPE4_RATIO))
        & multiple_at_least(TYPE4_MULTIPLE)
    )
    rule = np.select([type_1, type_2, type_3, type_4], [1, 2, 3, 4], default=0)
    return np.where(eligible, rule, 0)


def _bans(
    designated: pd.DataFrame,
    frame: pd.DataFrame,
    codes: np.ndarray,
    previous_close: np.ndarray,
    calendar: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First ban day, last ban day and number of ban days per designation (day numbers, -1 if unknown)."""
    falls = _dropped(frame["close"].to_numpy(float), previous_close, EXTENSION_DROP)
    keys = (codes.astype(np.int64) << DAY_BITS) + frame["day"].to_numpy()  # ascending: frame is sorted
    code = designated["code"].to_numpy().astype(np.int64)

    def next_day(days: np.ndarray) -> np.ndarray:
        slot = np.searchsorted(calendar, days, side="right")
        return np.where(slot < len(calendar), calendar[np.minimum(slot, len(calendar) - 1)], -1)

    start = next_day(designated["day"].to_numpy())
    last, count = start.copy(), (start >= 0).astype(int)
    active = start >= 0
    while active.any():
        wanted = (code[active] << DAY_BITS) + last[active]
        match = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        fell = (keys[match] == wanted) & falls[match]
        following = next_day(last[active])
        extend = fell & (following >= 0)
        indices = np.flatnonzero(active)
        last[indices[extend]] = following[extend]
        count[indices[extend]] += 1
        active[indices[~extend]] = False
    return start, last, count


@dataclass(frozen=True)
class _Panel:
    """What both results compute first: the validated rows, each row's previous close, the input calendar,
    the 40-day baselines and the quarter thresholds."""

    frame: pd.DataFrame
    symbols: pd.Index
    codes: np.ndarray
    previous_close: np.ndarray
    calendar: np.ndarray
    base: dict[str, np.ndarray]
    thresholds: _QuarterThresholds


def _panel(daily: pd.DataFrame, quarter_ratios: pd.DataFrame | None) -> _Panel:
    frame, symbols = _validated(daily)
    codes = frame["code"].to_numpy()
    previous_close = grouped_shift(frame["close"].to_numpy(float), group_positions(codes), 1)
    calendar = np.unique(frame["day"].to_numpy())
    base = _baselines(frame, codes, calendar[~full_ban_days(calendar)])
    ratios = quarter_ratios if quarter_ratios is not None else _quarter_table(_market_days(frame))
    thresholds = _quarter_thresholds(frame, ratios)
    frame["quarter_ratio_threshold"] = thresholds.value
    return _Panel(frame, symbols, codes, previous_close, calendar, base, thresholds)


def _eligible(base: dict[str, np.ndarray]) -> np.ndarray:
    """A full 40-day window, traded on at least 20 of its days, and a non-zero average short value."""
    return base["valid"] & (base["traded"] >= MIN_TRADED_DAYS) & (base["short"] > 0)


def short_overheat(
    daily: pd.DataFrame,
    quarter_ratios: pd.DataFrame | None = None,
    trading_days: Iterable[DayLike] | None = None,
) -> pd.DataFrame:
    """Designations (OUTPUT_COLUMNS), one row per designated symbol-day, highest-priority type only."""
    panel = _panel(daily, quarter_ratios)
    frame, base, codes, previous_close = panel.frame, panel.base, panel.codes, panel.previous_close
    calendar = panel.calendar
    if trading_days is not None:
        extra = np.array([to_day(day) for day in trading_days], dtype=np.int64)
        calendar = np.union1d(calendar, extra)
    rule = _rule_types(frame, base, previous_close)
    hit = np.flatnonzero(rule > 0)
    designated = frame.iloc[hit]
    start, last, count = _bans(designated, frame, codes, previous_close, calendar)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = base["short"][hit] / BASELINE_DAYS
        ratio_40d = 100.0 * base["short"][hit] / base["trading"][hit]
        change = 100.0 * (frame["close"].to_numpy(float)[hit] / previous_close[hit] - 1.0)
    return pd.DataFrame(
        {
            "time": as_dates(frame["day"].to_numpy()[hit]),
            "symbol": panel.symbols.take(codes[hit]).to_numpy(),
            "market": designated["market"].astype(str).to_numpy(),
            "rule_type": rule[hit],
            "price_change_pct": change,
            "short_ratio": designated["short_ratio"].to_numpy(float),
            "short_value_multiple": designated["short_amount"].to_numpy(float) / average,
            "avg_short_value_40d": average,
            "short_ratio_40d": ratio_40d,
            "traded_days_40d": base["traded"][hit],
            "quarter_ratio_threshold": designated["quarter_ratio_threshold"].to_numpy(float),
            "ban_start": pd.to_datetime(
                np.where(start >= 0, as_dates(np.maximum(start, 0)), np.datetime64("NaT"))
            ),
            "ban_date": pd.to_datetime(
                np.where(last >= 0, as_dates(np.maximum(last, 0)), np.datetime64("NaT"))
            ),
            "ban_days": count,
        },
        columns=list(OUTPUT_COLUMNS),
    ).sort_values(["time", "symbol"], ignore_index=True)


def overheat_candidates(daily: pd.DataFrame, quarter_ratios: pd.DataFrame | None = None) -> pd.DataFrame:
    """CANDIDATE_COLUMNS for every stock-day the rule can evaluate: how close it is to a type ① designation
    (designated or not; the reader leaves out the designated ones), closest first."""
    panel = _panel(daily, quarter_ratios)
    rows = np.flatnonzero(_eligible(panel.base))
    frame = panel.frame.iloc[rows]
    markets = frame["market"].astype(str).to_numpy()
    quarter_ids, ratios = panel.thresholds.quarter_id[rows], panel.thresholds.ratio[rows]
    # One text per market-quarter, not per row.
    codes, _ = pd.factorize(quarter_ids * len(MARKETS) + frame["market"].cat.codes.to_numpy())
    first = np.unique(codes, return_index=True)[1]
    texts = [_threshold_source(markets[i], int(quarter_ids[i]), ratios[i]) for i in first]
    sources = np.asarray(texts, dtype=object)[codes]
    inputs = pd.DataFrame(
        {
            "time": as_dates(frame["day"].to_numpy()),
            "symbol": panel.symbols.take(panel.codes[rows]).to_numpy(),
            "market": markets,
            "close": frame["close"].to_numpy(float),
            "previous_close": panel.previous_close[rows],
            "short_ratio": frame["short_ratio"].to_numpy(float),
            "short_amount": frame["short_amount"].to_numpy(float),
            "avg_short_value_40d": panel.base["short"][rows] / BASELINE_DAYS,
            "traded_days_40d": panel.base["traded"][rows],
            "quarter_ratio_threshold": np.nan_to_num(panel.thresholds.value[rows], nan=QUARTER_CAP),
            "threshold_source": sources,
        }
    )
    return closeness(inputs)[list(CANDIDATE_COLUMNS)]


def _threshold_source(market: str, quarter_id: int, ratio: float) -> str:
    """How a row's type ① threshold was found, in words (shown beside the watch list)."""
    if quarter_id < 0:
        return f"{QUARTER_CAP:.0f}% cap: no earlier {market} quarter has {MIN_QUARTER_DAYS} usable days"
    label = _quarter_label(quarter_id)
    return f"min({QUARTER_MULTIPLE:.0f} × {label} {market} ratio {ratio:.2f}%, {QUARTER_CAP:.0f}%)"


def closeness(candidates: pd.DataFrame) -> pd.DataFrame:
    """Eligible candidates (CLOSENESS_INPUTS) with their price change, multiple, drop / ratio / multiple
    progress and closeness_pct (see the module docstring), closest first."""
    require_columns(candidates, CLOSENESS_INPUTS, "candidates")
    frame = candidates[
        (candidates["traded_days_40d"] >= MIN_TRADED_DAYS) & (candidates["avg_short_value_40d"] > 0)
    ].copy()
    frame["required_multiple"] = frame["market"].map(MULTIPLE_TYPES_1_2).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["price_change_pct"] = 100.0 * (frame["close"] / frame["previous_close"] - 1.0)
        frame["short_value_multiple"] = frame["short_amount"] / frame["avg_short_value_40d"]
    progress = {
        "drop_progress": (-frame["price_change_pct"] / TYPE1_DROP).fillna(0.0),
        "ratio_progress": frame["short_ratio"] / frame["quarter_ratio_threshold"],
        "multiple_progress": frame["short_value_multiple"] / frame["required_multiple"],
    }
    for name, values in progress.items():
        frame[name] = values.clip(lower=0.0, upper=1.0)
    frame["closeness_pct"] = 100.0 * frame[list(progress)].mean(axis=1)
    return frame.sort_values(
        ["closeness_pct", "short_value_multiple", "symbol"], ascending=[False, False, True], ignore_index=True
    )
