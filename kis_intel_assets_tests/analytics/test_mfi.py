"""MFI follows TA-Lib: first value at index `period`, equal TP on neither side, 100 / 0 edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.analytics import money_flow_index, money_flow_index_panel


def bars(rows: list[tuple[float, float, float, float]]) -> tuple[pd.Series, ...]:
    frame = pd.DataFrame(rows, columns=["high", "low", "close", "volume"])
    return frame["high"], frame["low"], frame["close"], frame["volume"]


# TP: 9, 10 (up, 1000), 9 (down, 1800), 9 (equal, 450 on neither side), 11 (up, 1100), 11 (equal, 0 volume),
# 11 (equal), 11 (equal).
HAND_BARS = [
    (10, 8, 9, 100),
    (11, 9, 10, 100),
    (10, 8, 9, 200),
    (10, 8, 9, 50),
    (12, 10, 11, 100),
    (12, 10, 11, 0),
    (12, 10, 11, 0),
    (12, 10, 11, 0),
]


def test_hand_computed_windows_with_period_three() -> None:
    mfi = money_flow_index(*bars(HAND_BARS), period=3)

    assert mfi.iloc[:3].isna().all()  # lookback = period: nothing before index 3
    assert mfi.iloc[3] == pytest.approx(100 * 1000 / 2800)  # flows of bars 1..3; bar 3 is equal TP
    assert mfi.iloc[4] == pytest.approx(100 * 1100 / 2900)  # bars 2..4
    assert mfi.iloc[5] == 100.0  # bars 3..5: positive flow only
    assert mfi.iloc[6] == 100.0  # bars 4..6
    assert mfi.iloc[7] == 0.0  # bars 5..7: no flow at all -> TA-Lib's 0


def test_flat_prices_give_zero_and_rising_prices_give_hundred() -> None:
    flat = money_flow_index(*bars([(10, 10, 10, 500)] * 20), period=14)
    rising = money_flow_index(*bars([(10 + i, 8 + i, 9 + i, 100) for i in range(20)]), period=14)

    assert flat.iloc[:14].isna().all() and (flat.iloc[14:] == 0.0).all()
    assert rising.iloc[:14].isna().all() and (rising.iloc[14:] == 100.0).all()


def test_zero_volume_gives_zero_even_when_prices_move() -> None:
    moving = [(10 + (i % 3), 8, 9 + (i % 2), 0) for i in range(20)]

    mfi = money_flow_index(*bars(moving), period=5)

    assert (mfi.iloc[5:] == 0.0).all()


def test_window_without_negative_flow_is_hundred_even_after_large_flows_left() -> None:
    # A huge down bar, then only rises: once it leaves the window the negative sum must be exactly 0.
    rows = [(100, 100, 100, 1), (50, 50, 50, 10**9)] + [(50 + i, 50 + i, 50 + i, 7) for i in range(1, 8)]

    mfi = money_flow_index(*bars(rows), period=3)

    assert mfi.iloc[3] < 1.0
    assert mfi.iloc[4] == 100.0


def test_index_is_kept_and_bad_input_is_named() -> None:
    high, low, close, volume = bars(HAND_BARS)
    index = pd.date_range("2025-01-01", periods=len(close))
    mfi = money_flow_index(
        high.set_axis(index), low.set_axis(index), close.set_axis(index), volume.set_axis(index)
    )
    assert mfi.index.equals(index)

    with pytest.raises(ValueError, match="same length"):
        money_flow_index(high, low, close.iloc[:-1], volume)
    with pytest.raises(ValueError, match="volume has missing"):
        money_flow_index(high, low, close, volume.where(volume > 50))
    with pytest.raises(ValueError, match="period"):
        money_flow_index(high, low, close, volume, period=0)


def test_panel_matches_the_single_series_for_every_symbol_whatever_the_row_order() -> None:
    rng = np.random.default_rng(7)
    frames = []
    for number, length in enumerate([30, 5, 17]):  # one symbol shorter than the period
        close = rng.integers(990, 1010, length).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "time": pd.bdate_range("2025-01-02", periods=length),
                    "symbol": f"00000{number}",
                    "high": close + rng.integers(0, 5, length),
                    "low": close - rng.integers(0, 5, length),
                    "close": close,
                    "volume": rng.integers(0, 1000, length).astype(float),
                }
            )
        )
    prices = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=3)

    panel = money_flow_index_panel(prices, period=14)

    assert panel.index.equals(prices.index)
    for frame in frames:
        single = money_flow_index(frame["high"], frame["low"], frame["close"], frame["volume"], period=14)
        rows = prices.index[prices["symbol"] == frame["symbol"].iloc[0]]
        by_time = pd.Series(panel.loc[rows].to_numpy(), index=prices.loc[rows, "time"]).sort_index()
        np.testing.assert_array_equal(by_time.to_numpy(), single.to_numpy())


def test_panel_rejects_duplicate_rows() -> None:
    prices = pd.DataFrame(
        {"time": ["2025-01-02"] * 2, "symbol": ["005930"] * 2, "high": 1, "low": 1, "close": 1, "volume": 1}
    )
    with pytest.raises(ValueError, match="duplicate"):
        money_flow_index_panel(prices)
