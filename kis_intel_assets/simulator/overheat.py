"""The official 공매도 과열종목 list the simulated master files carry (flag ssts_hot_yn).

KRX designates after the close of day T and bans short selling from T+1, so the master file of ban day D
flags every stock whose ban covers D. The simulator's official list is the product's own KRX rule
(kis_intel_assets.analytics.short_overheat) applied to the simulated market's ground truth over every
configured day — the rule is written once — plus planted differences: a stock the official list
designates although the rule does not, or one it leaves out although the rule designates it. Tests plant
them to check that the detection-vs-official check lists exactly those (docs/short_overheat_designations.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kis_intel_assets import analytics
from kis_intel_assets.simulator.encode import percent

if TYPE_CHECKING:
    from kis_intel_assets.simulator.model import MarketModel


@dataclass(frozen=True)
class OverheatDifference:
    """On ban day `day`, the official list designates `symbol` (designated=True) although the rule does
    not, or leaves it out (designated=False) although the rule designates it."""

    day: date
    symbol: str
    designated: bool


_BANS: weakref.WeakKeyDictionary[MarketModel, pd.DataFrame] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _rule_input(model: MarketModel) -> pd.DataFrame:
    """One row per listed stock-day, as the product's short_overheat asset builds it from what it stores."""
    frames = []
    for symbol, market in zip(model.universe.symbols, model.universe.markets, strict=True):
        series = model.series(str(symbol))
        value, short = series.prices.value, series.short_value
        frames.append(
            pd.DataFrame(
                {
                    "time": series.days,  # datetime64: no per-row date objects on a large universe
                    "symbol": series.symbol,
                    "market": str(market),
                    "close": series.prices.close,
                    "trading_value": value,
                    "short_amount": short,
                    "short_ratio": [percent(a, b) for a, b in zip(short, value, strict=True)],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def rule_bans(model: MarketModel) -> pd.DataFrame:
    """symbol, ban_start, ban_date (datetime64) of every designation the KRX rule makes on the model."""
    with _LOCK:
        found = _BANS.get(model)
        if found is None:
            designations = analytics.short_overheat(_rule_input(model), trading_days=model.days.astype(date))
            found = designations[["symbol", "ban_start", "ban_date"]].dropna().reset_index(drop=True)
            _BANS[model] = found
    return found


def rule_designations(model: MarketModel, day: date) -> list[str]:
    """Stocks whose ban under the KRX rule covers `day`, sorted."""
    bans = rule_bans(model)
    moment = np.datetime64(day, "D")
    covered = (bans["ban_start"].to_numpy("datetime64[D]") <= moment) & (
        bans["ban_date"].to_numpy("datetime64[D]") >= moment
    )
    return sorted(set(bans.loc[covered, "symbol"]))


def official_designations(
    model: MarketModel, day: date, differences: Iterable[OverheatDifference] | None = None
) -> list[str]:
    """The official list of ban day `day`: the rule's, with the planted differences of that day applied."""
    official = set(rule_designations(model, day))
    for difference in model.overheat_differences if differences is None else differences:
        if difference.day == day:
            (official.add if difference.designated else official.discard)(difference.symbol)
    return sorted(official)
