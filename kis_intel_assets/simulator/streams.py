"""Random draws whose first k values never depend on how many are drawn.

A generator fills an array in order, so the first rows of one draw shaped (days, ...) are the same for 30
or 3,000 days, but only if nothing of length `days` was drawn from that generator before. Every time-axis
draw therefore gets its own generator, keyed by (seed parts, name): a replay whose CSV gains later rows
keeps every earlier day's generated data.
"""

from __future__ import annotations

import numpy as np


class Streams:
    """Named, independent generators under one key (e.g. seed, purpose, symbol)."""

    def __init__(self, *key: int) -> None:
        self._key = key

    def __call__(self, name: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([*self._key, name]))


def symbol_key(symbol: str) -> int:
    """A stable integer per stock code (a seed part that does not move when other symbols are added)."""
    return int.from_bytes(symbol.encode("ascii"), "big")
