"""Shared plumbing for the analytics: input validation, day numbers and per-entity (grouped) array maths.

The hot paths work on flat numpy arrays sorted by (entity, time). A group is a run of equal entity codes;
`positions` is each row's 0-based index inside its run. Rolling windows that must not cross entities are
either masked by position (fixed-length windows) or computed on a copy padded with NaN gaps between runs
(windows with a minimum period shorter than the window).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

EPOCH = np.datetime64("1970-01-01", "D")
DAY_BITS = 32  # (entity code << DAY_BITS) + day number is a unique int64 key per entity-day


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; it has {list(frame.columns)}")


def float_column(frame: pd.DataFrame, column: str, name: str, nullable: bool = False) -> np.ndarray:
    """A column as float64 (NaN for nulls), raising a named error for non-numbers or unexpected nulls."""
    series = frame[column]
    if series.dtype.kind in "iub":
        return series.to_numpy(np.float64)
    try:
        values = pd.to_numeric(series).to_numpy(np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}.{column} is not numeric: {exc}") from exc
    if not nullable and np.isnan(values).any():
        raise ValueError(
            f"{name}.{column} has {int(np.isnan(values).sum())} null values; it must be complete"
        )
    return values


def entity_codes(values: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values)
    if (codes < 0).any():
        raise ValueError(f"{name} has {int((codes < 0).sum())} null values")
    return codes, pd.Index(uniques)


def sort_by_entity_day(
    symbols: pd.Series, times: pd.Series, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """(order, sorted symbol codes, sorted day numbers, symbols) for rows sorted by (symbol, time).

    Raises when a (symbol, time) pair repeats. Symbol codes follow first appearance, not the alphabet.
    """
    codes, uniques = entity_codes(symbols, f"{name}.symbol")
    days = day_numbers(times, f"{name}.time")
    keys = (codes.astype(np.int64) << DAY_BITS) + days
    if len(keys) < 2 or (keys[1:] > keys[:-1]).all():  # already in (symbol, time) order: skip the sort
        return np.arange(len(keys)), codes, days, uniques
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if (sorted_keys[1:] == sorted_keys[:-1]).any():
        raise ValueError(f"{name} has duplicate (symbol, time) rows")
    return order, codes[order], days[order], uniques


def day_numbers(values: pd.Series, name: str) -> np.ndarray:
    """Days since 1970-01-01 as int64, from datetime.date objects or datetime64 values.

    Conversion runs on the distinct values only, so a 6-million-row column of date objects stays cheap.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"{name} has null dates")
    try:
        converted = pd.to_datetime(pd.Index(uniques)).values.astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} holds values that are not dates: {exc}") from exc
    return (converted - EPOCH).astype(np.int64)[codes]


def as_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers back to datetime64[ns] normalised dates (the `time` convention of analytics outputs)."""
    return (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ns]")


# What a day arrives as: a partition key ("2024-03-04"), a date or Timestamp, a numpy datetime.
DayLike = date | str | np.datetime64


def to_day(value: DayLike) -> int:
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - EPOCH).astype(np.int64))


def group_positions(codes: np.ndarray) -> np.ndarray:
    """Index of each row inside its run of equal codes (rows already sorted by code)."""
    n = len(codes)
    index = np.arange(n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = codes[1:] != codes[:-1]
    return index - np.maximum.accumulate(np.where(starts, index, 0))


def positions_from_end(codes: np.ndarray) -> np.ndarray:
    """How many rows of the same run follow each row."""
    return group_positions(codes[::-1])[::-1]


def grouped_shift(values: np.ndarray, positions: np.ndarray, periods: int) -> np.ndarray:
    """values[i - periods] within the run (NaN where that row belongs to another entity); periods > 0."""
    out = np.full(len(values), np.nan)
    if periods < len(values):
        out[periods:] = values[:-periods]
    out[positions < periods] = np.nan
    return out


def grouped_lead(values: np.ndarray, after: np.ndarray, periods: int) -> np.ndarray:
    """values[i + periods] within the run; `after` is positions_from_end of the codes."""
    out = np.full(len(values), np.nan)
    if periods < len(values):
        out[:-periods] = values[periods:]
    out[after < periods] = np.nan
    return out


def grouped_window_sum(values: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last `window` rows of the run (NaN until the run has that many rows, or if one is NaN).

    Each window is summed from scratch (no running add/subtract), so a window of zeros sums to exactly 0
    however large the values that left it were. O(n · window), which is cheap for the short windows used.
    """
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = np.lib.stride_tricks.sliding_window_view(values, window).sum(axis=1)
    out[positions < window - 1] = np.nan
    return out


def grouped_rolling_mean_std(
    values: np.ndarray, codes: np.ndarray, window: int, min_periods: int
) -> tuple[np.ndarray, np.ndarray]:
    """Causal rolling mean and sample std (ddof=1) per run of codes, windows never crossing runs."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], int)
    run_number = np.cumsum(np.r_[True, codes[1:] != codes[:-1]]) - 1 if len(codes) else codes
    padded_index = np.arange(len(values)) + run_number * window
    padded = np.full(len(values) + len(starts) * window, np.nan)
    padded[padded_index] = values
    rolling = pd.Series(padded).rolling(window, min_periods=min_periods)
    mean = rolling.mean().to_numpy()[padded_index]
    std = rolling.std(ddof=1).to_numpy()[padded_index]
    return mean, std


def rolling_zscore(values: np.ndarray, codes: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """(x_t - mean) / std over the trailing window including t; NaN when the window is flat."""
    mean, std = grouped_rolling_mean_std(values, codes, window, min_periods)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (values - mean) / std
    z[~(std > 0)] = np.nan
    return z
