"""KRX tick sizes (the unified schedule in force since 2023-01-25) applied to whole price arrays."""

from __future__ import annotations

import numpy as np

_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000])
_TICKS = np.array([1, 5, 10, 50, 100, 500, 1_000])


def tick_size(price: np.ndarray) -> np.ndarray:
    return _TICKS[np.searchsorted(_BOUNDS, price, side="right")]


def round_to_tick(price: np.ndarray) -> np.ndarray:
    tick = tick_size(price)
    return (np.round(price / tick) * tick).astype(np.int64)


def floor_to_tick(price: np.ndarray) -> np.ndarray:
    tick = tick_size(price)
    return (np.floor(price / tick) * tick).astype(np.int64)


def ceil_to_tick(price: np.ndarray) -> np.ndarray:
    tick = tick_size(price)
    return (np.ceil(price / tick) * tick).astype(np.int64)


def is_on_tick(price: np.ndarray) -> np.ndarray:
    return np.asarray(price) % tick_size(price) == 0
