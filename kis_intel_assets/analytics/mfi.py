"""Money Flow Index with TA-Lib's conventions (docs/krx_rules.md §5), for one series and for a whole panel.

Conventions, pinned so values match TA-Lib's `MFI` and never depend on the environment:
- TP = (H+L+C)/3 and raw flow = TP × volume; a bar's flow is positive when TP rose from the previous bar,
  negative when it fell, and counts on neither side when TP is exactly equal. Exact float equality is
  deliberate: current TA-Lib treats changes inside a relative dead-zone (`TA_IS_ZERO_SCALED`) as equal,
  which only differs for changes of ~1e-14 relative size; KRX prices are integer ticks, so (H+L+C)/3 of two
  bars is either exactly equal or far apart.
- The lookback is `period`: the first value is at index `period` (NaN before), and every window holds
  exactly `period` flows (bars 1..period for the first value). pandas-ta and `ta` start one bar earlier.
- 100 when the window's negative flow is 0 and its positive flow is not; 0 when both are 0 (flat prices or
  zero volume), as TA-Lib does. Output is clamped to [0, 100] against float drift.
- TA-Lib's reset after `period` empty bars is not modelled; each window is summed from scratch instead.

In a panel, bars are a symbol's rows in time order: a suspended day is simply absent, so the flow on the
day trading resumes compares with the last traded bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    float_column,
    group_positions,
    grouped_shift,
    grouped_window_sum,
    require_columns,
    sort_by_entity_day,
)

DEFAULT_PERIOD = 14
PRICE_COLUMNS = ("high", "low", "close", "volume")


def typical_price(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    return (high + low + close) / 3.0


def mfi_from_direction(
    direction: np.ndarray, raw_flow: np.ndarray, positions: np.ndarray, period: int
) -> np.ndarray:
    """MFI from each bar's direction (+1 up, -1 down, 0 equal or unknown) and raw money flow.

    Shared by stock MFI (direction from the stock's TP) and sector MFI (direction from a sector TP index).
    A run's first bar has no previous bar, so it never carries flow; values start at position `period`.
    """
    if period < 1:
        raise ValueError(f"MFI period must be at least 1, got {period}")
    positive = np.where(direction > 0, raw_flow, 0.0)
    negative = np.where(direction < 0, raw_flow, 0.0)
    positive_sum = grouped_window_sum(positive, positions, period)
    negative_sum = grouped_window_sum(negative, positions, period)
    total = positive_sum + negative_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        mfi = np.where(total > 0, 100.0 * positive_sum / total, 0.0)
    mfi = np.clip(mfi, 0.0, 100.0)
    mfi[positions < period] = np.nan
    return mfi


def _stock_mfi(bars: Sequence[np.ndarray], positions: np.ndarray, period: int) -> np.ndarray:
    """MFI over the (high, low, close, volume) arrays in `bars`."""
    high, low, close, volume = bars
    tp = typical_price(high, low, close)
    change = tp - grouped_shift(tp, positions, 1)
    direction = np.sign(np.nan_to_num(change, nan=0.0))
    return mfi_from_direction(direction, tp * volume, positions, period)


def _checked_floats(values: np.ndarray, name: str) -> np.ndarray:
    floats = np.asarray(values, dtype=np.float64)
    if np.isnan(floats).any():
        raise ValueError(f"{name} has missing values; MFI needs complete bars")
    if (floats < 0).any():
        raise ValueError(f"{name} has negative values")
    return floats


def money_flow_index(
    high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, period: int = DEFAULT_PERIOD
) -> pd.Series:
    """MFI of one instrument's consecutive bars, indexed like `close` (TA-Lib conventions, see module)."""
    lengths = {len(high), len(low), len(close), len(volume)}
    if len(lengths) != 1:
        raise ValueError(f"high, low, close and volume must have the same length, got {sorted(lengths)}")
    arrays = [
        _checked_floats(series.to_numpy(), name)
        for series, name in ((high, "high"), (low, "low"), (close, "close"), (volume, "volume"))
    ]
    positions = np.arange(len(close))
    values = _stock_mfi(arrays, positions, period)
    return pd.Series(values, index=close.index, name="money_flow_index")


def money_flow_index_panel(prices: pd.DataFrame, period: int = DEFAULT_PERIOD) -> pd.Series:
    """MFI for every (time, symbol) row of a long price frame, aligned with `prices.index`.

    One vectorised pass over all symbols: rows are ordered by (symbol, time) and windows are masked where
    they would reach into another symbol, so there is no per-symbol Python loop.
    """
    require_columns(prices, ("time", "symbol", *PRICE_COLUMNS), "prices")
    order, codes, _, _ = sort_by_entity_day(prices["symbol"], prices["time"], "prices")
    positions = group_positions(codes)
    columns = [
        _checked_floats(float_column(prices, name, "prices")[order], f"prices.{name}")
        for name in PRICE_COLUMNS
    ]
    values = np.empty(len(prices))
    values[order] = _stock_mfi(columns, positions, period)
    return pd.Series(values, index=prices.index, name="money_flow_index")
