"""Integer allocation that preserves totals exactly, so investor groups always sum to the day's
volume/value."""

from __future__ import annotations

import numpy as np


def allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row total (n,) over k groups by weights (n, k) with largest remainders; rows sum exactly."""
    shares = weights / weights.sum(axis=1, keepdims=True)
    raw = shares * totals[:, None]
    floor = np.floor(raw)
    remainder = (totals - floor.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(raw - floor), axis=1, kind="stable")
    ranks = np.argsort(order, axis=1, kind="stable")
    return (floor + (ranks < remainder[:, None])).astype(np.int64)
