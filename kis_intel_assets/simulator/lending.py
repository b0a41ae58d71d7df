"""Stock lending (대차거래) per stock and day, consistent with the simulated market.

Borrowing is mostly for short sales, so new loans follow the day's short volume (plus a share of the
day's volume lent for hedging and arbitrage), and a share of the outstanding balance is repaid each day.
The balance moves by exactly new − redeemed and never goes below zero; under a short-selling ban new
loans fall with the short volume and repayments speed up, so the balance decays. A stock listed inside
the simulated span starts with no balance. Day d's values depend only on days up to d (own streams,
no draw of length n before another), so a longer span serves the same earlier days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kis_intel_assets.simulator.factors import short_regime
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.series import SymbolSeries, short_allowed
from kis_intel_assets.simulator.streams import Streams, symbol_key

LENDING_PURPOSE = 30  # seed part of the lending streams (series use 10, fundamentals 20)
BAN_REPAYMENT_FACTOR = 2.5  # repayments speed up while short sales are not allowed


@dataclass(frozen=True)
class LendingBlock:
    """Daily lending of one symbol over its series' days (shares; amount in KRW at the close)."""

    new: np.ndarray
    redeemed: np.ndarray
    balance: np.ndarray
    previous_balance: np.ndarray
    amount: np.ndarray


def stock_lending(model: MarketModel, symbol: str) -> tuple[SymbolSeries, LendingBlock]:
    """A stock's series and its lending over the series' days."""
    series = model.series(symbol)
    index = model.position(symbol)
    member = bool(model.universe.index_member[index])
    listed_from, _ = model.universe.listed_span(index, len(model.days))
    allowed = short_allowed(short_regime(series.days), member)
    shares = int(model.universe.listed_shares[index])
    return series, lending_block(model.config.seed, series, shares, member, allowed, listed_from > 0)


def lending_block(
    seed: int,
    series: SymbolSeries,
    listed_shares: int,
    index_member: bool,
    allowed: np.ndarray,
    listed_inside: bool,
) -> LendingBlock:
    """The lending arrays of one stock; `allowed` marks the days short sales were allowed, and
    `listed_inside` a stock that lists after the first simulated day (it starts with no balance)."""
    n = len(series.days)
    draws = Streams(seed, LENDING_PURPOSE, symbol_key(series.symbol))
    constants = draws(0)  # per-symbol scalars only
    start_share = constants.uniform(0.004, 0.03) if index_member else constants.uniform(0.0005, 0.01)
    per_short = constants.uniform(1.0, 1.6)
    other_share = constants.uniform(0.0005, 0.003)
    repay_rate = constants.uniform(0.01, 0.03)
    volume = series.prices.volume
    traded = volume > 0
    new = np.round(
        series.short_volume * per_short * np.exp(0.4 * draws(1).standard_normal(n))
        + volume * other_share * np.exp(0.5 * draws(2).standard_normal(n))
    ).astype(np.int64)
    new = np.where(traded, new, 0)
    rates = repay_rate * np.exp(0.4 * draws(3).standard_normal(n))
    rates = np.minimum(np.where(allowed, rates, rates * BAN_REPAYMENT_FACTOR), 0.5)
    redeemed = np.zeros(n, dtype=np.int64)
    balance = np.zeros(n, dtype=np.int64)
    previous = np.zeros(n, dtype=np.int64)
    held = 0 if listed_inside else round(listed_shares * start_share)
    for i in range(n):
        previous[i] = held
        repaid = min(held + int(new[i]), round(held * float(rates[i]))) if traded[i] else 0
        redeemed[i] = repaid
        held += int(new[i]) - repaid
        balance[i] = held
    return LendingBlock(new, redeemed, balance, previous, balance * series.prices.close.astype(np.int64))
