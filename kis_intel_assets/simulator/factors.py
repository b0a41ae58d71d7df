"""Shared market factors generated once per simulator: market and sector returns, planted rotation episodes,
short-selling regimes, market-level investor flows, market program trading and index levels.

These are small (days x sectors) arrays; per-symbol series (series.py) are built on top of them lazily.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from kis_intel_assets.investor_groups import INSTITUTION_SUBGROUPS, OTHER_SUBGROUPS
from kis_intel_assets.simulator.sectors import MARKET_INDICES, SECTOR_INDEX, SECTORS
from kis_intel_assets.simulator.streams import Streams

REGIME_OPEN, REGIME_BAN, REGIME_INDEX_ONLY = 0, 1, 2
# (first day, last day, regime) of the KRX short-selling regimes (krx_market.md §1.3); other days are open.
SHORT_REGIMES: tuple[tuple[date, date, int], ...] = (
    (date(2020, 3, 16), date(2021, 5, 2), REGIME_BAN),
    (date(2021, 5, 3), date(2023, 11, 5), REGIME_INDEX_ONLY),
    (date(2023, 11, 6), date(2025, 3, 30), REGIME_BAN),
)

# Investor leaf groups in the order used by every flow array: foreign, individual, the institution
# sub-groups, then the "other" ones.
LEAVES = ("foreign", "individual", *INSTITUTION_SUBGROUPS, *OTHER_SUBGROUPS)
FLOW_TILTED = np.array([leaf == "foreign" or leaf in INSTITUTION_SUBGROUPS for leaf in LEAVES])


@dataclass(frozen=True)
class EpisodeParams:
    """Planted sector-rotation episodes: sustained foreign+institution flow, then a lagged price response."""

    spacing_days: int = 40  # mean trading days between episode starts
    spacing_jitter: int = 8
    duration_days: int = 15  # flow window length
    duration_jitter: int = 3
    lag_min_days: int = 2  # the price response starts this many days after the flow (inclusive range)
    lag_max_days: int = 5
    inflow_probability: float = 0.7  # remaining episodes are outflows
    flow_tilt: float = 0.30  # foreign+institution buy weights x(1+tilt), sell weights x(1-tilt)
    price_drift: float = 0.004  # extra daily sector log return while the response lasts


@dataclass(frozen=True)
class RotationEpisode:
    sector_code: str
    sector_name: str
    market: str
    direction: int  # +1 inflow, -1 outflow
    flow_start: date
    flow_end: date
    price_start: date
    price_end: date
    flow_tilt: float
    price_drift_per_day: float


def short_regime(days: np.ndarray) -> np.ndarray:
    regime = np.full(len(days), REGIME_OPEN, dtype=np.int8)
    for first, last, kind in SHORT_REGIMES:
        regime[(days >= np.datetime64(first)) & (days <= np.datetime64(last))] = kind
    return regime


class MarketFactors:
    """Every time-axis draw comes from its own stream (streams.py), so day d's factors depend only on days
    up to d: a replay that gains later rows keeps its earlier market, sector and episode data."""

    def __init__(
        self,
        seed: int,
        days: np.ndarray,
        params: EpisodeParams | None = None,
        member_sectors: Sequence[int] | None = None,
    ) -> None:
        self.seed = seed
        self.days = days
        self.params = params or EpisodeParams()
        n = len(days)
        draws = Streams(seed, 1)
        kospi = 0.0003 + 0.010 * draws(0).standard_t(5, n) / np.sqrt(5 / 3)
        kosdaq = 0.0001 + 0.9 * kospi + 0.007 * draws(1).standard_normal(n)
        self.market_returns = {"KOSPI": kospi, "KOSDAQ": kosdaq}
        self.sector_returns = 0.007 * draws(2).standard_normal((n, len(SECTORS)))
        self.flow_tilt = np.zeros((n, len(SECTORS)))
        eligible = sorted(set(member_sectors)) if member_sectors is not None else list(range(len(SECTORS)))
        self.episodes = self._plant_episodes(draws(3), eligible) if eligible else []
        self.regime = short_regime(days)

    def _plant_episodes(self, rng: np.random.Generator, eligible: list[int]) -> list[RotationEpisode]:
        """Episodes on sectors that have members, drawn in order until one would start after the data.

        The last episodes may run past the last day: they are planted and listed up to it (their end
        dates clipped), so a longer history plants the same episodes on the days both share.
        """
        p, n = self.params, len(self.days)
        episodes = []
        start = int(rng.integers(min(10, p.spacing_days - 1), p.spacing_days))
        while start < n:
            duration = p.duration_days + int(rng.integers(-p.duration_jitter, p.duration_jitter + 1))
            lag = int(rng.integers(p.lag_min_days, p.lag_max_days + 1))
            sector = eligible[int(rng.integers(len(eligible)))]
            direction = 1 if rng.random() < p.inflow_probability else -1
            self.flow_tilt[start : start + duration, sector] += direction * p.flow_tilt
            self.sector_returns[start + lag : start + lag + duration, sector] += direction * p.price_drift
            s = SECTORS[sector]
            episodes.append(
                RotationEpisode(
                    sector_code=s.code,
                    sector_name=s.name,
                    market=s.market,
                    direction=direction,
                    flow_start=self._day(start),
                    flow_end=self._day(start + duration - 1),
                    price_start=self._day(start + lag),
                    price_end=self._day(start + lag + duration - 1),
                    flow_tilt=p.flow_tilt,
                    price_drift_per_day=p.price_drift,
                )
            )
            start += p.spacing_days + int(rng.integers(-p.spacing_jitter, p.spacing_jitter + 1))
        return episodes

    def _day(self, index: int) -> date:
        return self.days[min(index, len(self.days) - 1)].astype(date)

    def index_returns(self, code: str) -> np.ndarray:
        """Daily log returns of a market index (0001/1001/2001) or a sector index (its members' common
        part)."""
        if code in MARKET_INDICES:
            market, _ = MARKET_INDICES[code]
            scale = 1.03 if code == "2001" else 1.0
            return scale * self.market_returns[market]
        sector = SECTOR_INDEX[code]
        return self.market_returns[SECTORS[sector].market] + self.sector_returns[:, sector]

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one MarketFactors per simulator, lives as long as it
    def index_ohlcv(self, code: str) -> dict[str, np.ndarray]:
        """Index OHLC (2-decimal floats), volume and trading value (KRW) per day."""
        draws = Streams(self.seed, 2, int(code))
        base = {"0001": 2000.0, "1001": 680.0, "2001": 265.0}.get(code, 1000.0)
        returns = self.index_returns(code)
        n = len(returns)
        close = base * np.exp(np.cumsum(returns))
        previous = np.concatenate([[base], close[:-1]])
        open_ = previous * np.exp(0.3 * returns + 0.002 * draws(0).standard_normal(n))
        spread = np.abs(0.004 * draws(1).standard_normal((n, 2))).T
        high = np.maximum(open_, close) * np.exp(spread[0])
        low = np.minimum(open_, close) * np.exp(-spread[1])
        volume = np.round(3e8 * np.exp(0.3 * draws(2).standard_normal(n) + 20 * np.abs(returns)))
        value = np.round(volume * close * 4000.0 / base)
        return {
            "open": np.round(open_, 2),
            "high": np.round(high, 2),
            "low": np.round(low, 2),
            "close": np.round(close, 2),
            "previous": np.round(previous, 2),
            "volume": volume.astype(np.int64),
            "value": value.astype(np.int64),
        }

    @functools.lru_cache(maxsize=4)  # noqa: B019
    def market_flows(self, market: str) -> tuple[np.ndarray, np.ndarray]:
        """Market-level net qty and net value (KRW million) per leaf group; individual balances each day."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 3, 0 if market == "KOSPI" else 1]))
        n = len(self.days)
        scale_qty, scale_value = (4e6, 2e5) if market == "KOSPI" else (8e6, 1e5)
        weights = np.array([1.0, 0.0, 0.35, 0.2, 0.15, 0.03, 0.05, 0.01, 0.25, 0.2, 0.03])
        tilt = self.flow_tilt[:, [i for i, s in enumerate(SECTORS) if s.market == market]].mean(axis=1)
        shock = rng.standard_normal((n, len(LEAVES))) + 3.0 * tilt[:, None] * FLOW_TILTED
        qty = np.round(shock * weights * scale_qty).astype(np.int64)
        value = np.round(shock * weights * scale_value).astype(np.int64)
        qty[:, 1] = -(qty.sum(axis=1) - qty[:, 1])
        value[:, 1] = -(value.sum(axis=1) - value[:, 1])
        return qty, value

    @functools.lru_cache(maxsize=4)  # noqa: B019
    def market_program(self, market: str) -> np.ndarray:
        """Program trading per day: shape (days, 2 arbitrage/non-arbitrage, 2 entm/onsl, 4 buy/sell
        qty/value)."""
        draws = Streams(self.seed, 4, 0 if market == "KOSPI" else 1)
        n = len(self.days)
        value_scale = 2.5e12 if market == "KOSPI" else 8e11
        avg_price = 40000.0 if market == "KOSPI" else 12000.0
        type_share = np.array([0.06, 0.94])[None, :, None]
        channel_share = np.array([0.55, 0.45])[None, None, :]
        sides = (
            value_scale * type_share * channel_share * np.exp(0.25 * draws(0).standard_normal((n, 2, 2, 2)))
        )
        buy_value, sell_value = np.round(sides[..., 0]), np.round(sides[..., 1])
        price = avg_price * np.exp(0.05 * draws(1).standard_normal((n, 2, 2, 2)))
        buy_qty, sell_qty = np.round(buy_value / price[..., 0]), np.round(sell_value / price[..., 1])
        return np.stack([buy_qty, sell_qty, buy_value, sell_value], axis=-1).astype(np.int64)
