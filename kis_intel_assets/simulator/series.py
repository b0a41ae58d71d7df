"""Per-symbol daily series (prices, investor flows, short selling, program trading), built lazily from a
per-symbol seed so the data never depends on request order. Arrays cover the symbol's trading days."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kis_intel_assets.simulator.allocation import allocate
from kis_intel_assets.simulator.factors import (
    FLOW_TILTED,
    LEAVES,
    REGIME_BAN,
    REGIME_INDEX_ONLY,
    REGIME_OPEN,
    MarketFactors,
)
from kis_intel_assets.simulator.streams import Streams
from kis_intel_assets.simulator.ticks import ceil_to_tick, floor_to_tick, round_to_tick

MIN_PRICE, MAX_PRICE = 200.0, 2_000_000.0
MAX_ABS_LOG_RETURN = 0.245  # keeps the tick-rounded close inside the ±30% daily limit
ATTACK_PROBABILITY = 1 / 250  # short attacks per allowed stock-day
MARKET_MAKER_SHORT_RATIO = 0.0003  # short share of volume on banned stock-days that do print (LP hedging)
_BASE_FLOW_SHARE = {
    "KOSPI": np.array([0.24, 0.55, 0.045, 0.025, 0.02, 0.004, 0.006, 0.0008, 0.025, 0.035, 0.003]),
    "KOSDAQ": np.array([0.10, 0.76, 0.025, 0.012, 0.02, 0.002, 0.003, 0.0004, 0.012, 0.04, 0.002]),
}


@dataclass
class PriceBlock:
    """Daily OHLCV of one symbol; `returns` are close-to-close log returns used to tilt flows."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    previous_close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    returns: np.ndarray
    attack: np.ndarray  # bool: planted short attack on that day


@dataclass
class SymbolSeries:
    symbol: str
    days: np.ndarray  # datetime64[D], ascending
    sector: np.ndarray  # sector index per day
    prices: PriceBlock
    buy_qty: np.ndarray  # (days, leaves)
    sell_qty: np.ndarray
    buy_value_m: np.ndarray  # KRW million, as served
    sell_value_m: np.ndarray
    short_volume: np.ndarray
    short_value: np.ndarray
    program: np.ndarray  # (days, 4): buy qty, sell qty, buy value, sell value (KRW)

    def span(self, first: np.datetime64, last: np.datetime64) -> tuple[int, int]:
        """Half-open position range of days in [first, last]."""
        return int(np.searchsorted(self.days, first, "left")), int(np.searchsorted(self.days, last, "right"))


def short_allowed(regime: np.ndarray, index_member: bool) -> np.ndarray:
    return (regime == REGIME_OPEN) | ((regime == REGIME_INDEX_ONLY) & index_member)


def model_prices(
    rng: np.random.Generator,
    factors: MarketFactors,
    market: str,
    sector_path: np.ndarray,
    base_price: float,
    listed_shares: int,
    allowed: np.ndarray,
) -> PriceBlock:
    n = len(sector_path)
    beta = rng.uniform(0.6, 1.4)
    idio_sigma = rng.uniform(0.012, 0.032)
    attack = allowed & (rng.random(n) < ATTACK_PROBABILITY)
    returns = (
        beta * factors.market_returns[market]
        + factors.sector_returns[np.arange(n), sector_path]
        + idio_sigma * rng.standard_t(4, n) / np.sqrt(2.0)
        - attack * rng.uniform(0.06, 0.13, n)
    )
    returns = np.clip(returns, -MAX_ABS_LOG_RETURN, MAX_ABS_LOG_RETURN)
    level = np.log(base_price) + np.cumsum(returns)
    # Shifting the whole path keeps every return while holding prices in a plausible band.
    level += max(0.0, np.log(MIN_PRICE) - level.min()) - max(0.0, level.max() - np.log(MAX_PRICE))
    close = round_to_tick(np.exp(level))
    previous = np.concatenate([round_to_tick(np.array([np.exp(level[0] - returns[0])])), close[:-1]])
    limit_up, limit_down = floor_to_tick(previous * 1.3), ceil_to_tick(previous * 0.7)
    open_ = np.clip(
        round_to_tick(previous * np.exp(0.3 * returns + 0.004 * rng.standard_normal(n))), limit_down, limit_up
    )
    wick = np.abs(rng.normal(0.0, idio_sigma * 0.5, (2, n)))
    high = np.clip(
        ceil_to_tick(np.maximum(open_, close) * np.exp(wick[0])), np.maximum(open_, close), limit_up
    )
    low = np.clip(
        floor_to_tick(np.minimum(open_, close) * np.exp(-wick[1])), limit_down, np.minimum(open_, close)
    )
    turnover = rng.uniform(0.001, 0.004) * (3.0 if market == "KOSDAQ" else 1.0)
    activity = np.exp(0.4 * rng.standard_normal(n)) * (1 + 8 * np.abs(returns)) * np.where(attack, 2.5, 1.0)
    volume = np.round(listed_shares * turnover * activity).astype(np.int64)
    return PriceBlock(
        open_,
        high,
        low,
        close,
        previous,
        volume,
        _trading_value(rng, high, low, close, volume),
        returns,
        attack,
    )


def _trading_value(
    rng: np.random.Generator, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    typical = (high + low + close) / 3.0 * np.exp(0.002 * rng.standard_normal(len(close)))
    return np.round(volume * np.clip(typical, low, high)).astype(np.int64)


def build_series(
    draws: Streams,
    symbol: str,
    days: np.ndarray,
    sector_path: np.ndarray,
    market: str,
    prices: PriceBlock,
    regime: np.ndarray,
    tilt: np.ndarray,
    index_member: bool,
) -> SymbolSeries:
    """Investor flows, short selling and program trading consistent with one symbol's prices and volume.

    Day d's values depend only on days up to d (own stream per draw, a running volatility), so a replay
    that gains later rows serves the same data for its earlier days.
    """
    n = len(days)
    volume, value = prices.volume, prices.value
    average_price = np.where(volume > 0, value / np.maximum(volume, 1), prices.close)

    sigma = np.maximum(np.sqrt(np.cumsum(prices.returns**2) / np.arange(1, n + 1)), 1e-4)
    lean = tilt + 0.05 * np.clip(prices.returns / sigma, -2.0, 2.0)
    lean = np.clip(lean, -0.8, 0.8)[:, None] * FLOW_TILTED
    base = _BASE_FLOW_SHARE[market]
    buy_noise, sell_noise = (np.exp(0.25 * draws(k).standard_normal((n, len(LEAVES)))) for k in (1, 2))
    buy_qty = allocate(volume, base * buy_noise * (1 + lean))
    sell_qty = allocate(volume, base * sell_noise * (1 - lean))
    value_m = np.round(value / 1e6).astype(np.int64)
    buy_value_m = allocate(value_m, buy_qty + 1e-9)
    sell_value_m = allocate(value_m, sell_qty + 1e-9)

    allowed = short_allowed(regime, index_member)
    constants = draws(3)  # per-symbol scalars only: never a draw of length n
    base_ratio = constants.uniform(0.02, 0.06) if market == "KOSPI" else constants.uniform(0.01, 0.03)
    ratio = base_ratio * np.exp(0.5 * draws(4).standard_normal(n)) * np.where(prices.attack, 8.0, 1.0)
    market_maker = (regime == REGIME_BAN) | ~allowed
    ratio = np.where(
        allowed,
        np.minimum(ratio, 0.6),
        np.where(market_maker & (draws(5).random(n) < 0.25), MARKET_MAKER_SHORT_RATIO, 0.0),
    )
    short_volume = np.minimum(np.round(volume * ratio).astype(np.int64), volume)
    short_value = np.minimum(np.round(short_volume * average_price).astype(np.int64), value)

    program_share = (0.12 if market == "KOSPI" else 0.05) * np.exp(0.3 * draws(6).standard_normal((n, 2)).T)
    program_qty = np.minimum(np.round(volume * np.minimum(program_share, 0.9)).astype(np.int64), volume)
    program_value = np.minimum(np.round(program_qty * average_price).astype(np.int64), value)
    program = np.stack([program_qty[0], program_qty[1], program_value[0], program_value[1]], axis=1)

    return SymbolSeries(
        symbol,
        days,
        sector_path,
        prices,
        buy_qty,
        sell_qty,
        buy_value_m,
        sell_value_m,
        short_volume,
        short_value,
        program,
    )
