"""Shared plumbing for the analytics: input validation, day numbers and per-entity (grouped) array maths.

The hot paths work on flat numpy arrays sorted by (entity, time). A group is a run of equal entity codes;
`positions` is each row's 0-based index inside its run. Rolling windows that must not cross entities are
either masked by position (fixed-length windows) or computed on a copy padded with NaN gaps between runs
(windows with a minimum period shorter than the window).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

EPOCH = np.datetime64("1970-01-01", "D")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; it has {list(frame.columns)}")


def require_no_nulls(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    for column in columns:
        nulls = int(frame[column].isna().sum())
        if nulls:
            raise ValueError(f"{name}.{column} has {nulls} null values; it must be complete")


def require_unique(frame: pd.DataFrame, keys: list[str], name: str) -> None:
    duplicated = frame.duplicated(keys, keep=False)
    if duplicated.any():
        example = frame.loc[duplicated, keys].iloc[0].to_dict()
        raise ValueError(f"{name} has {int(duplicated.sum())} rows with duplicate {keys}, e.g. {example}")


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


def to_day(value: object) -> int:
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
    """Sum of the last `window` rows of the run (NaN until the run has that many rows).

    Each window is summed from scratch (no running add/subtract), so a window of zeros sums to exactly 0
    however large the values that left it were.
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


def sorted_codes(frame: pd.DataFrame, entity: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame sorted by (entity, time) with an integer code per entity."""
    ordered = frame.sort_values([entity, "time"], kind="stable").reset_index(drop=True)
    codes, _ = pd.factorize(ordered[entity], sort=True)
    return ordered, codes
