"""Small synthetic KRX-like markets for the analytics tests: a few sectors, a few stocks, planted episodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Episode:
    """Smart money piles into (direction +1) or out of (-1) a sector, then the sector drifts that way."""

    sector: int
    start: int
    direction: int
    flow_days: int = 3
    drift_days: int = 20
    daily_drift: float = 0.006


@dataclass(frozen=True)
class SyntheticMarket:
    stock_master: pd.DataFrame
    daily_prices: pd.DataFrame
    investor_trends: pd.DataFrame

    def sector_of(self, sector: int) -> str:
        return sector_code(sector)


def sector_code(sector: int) -> str:
    return f"{1005 + sector:04d}"


def synthetic_market(
    n_sectors: int = 6,
    stocks_per_sector: int = 4,
    n_days: int = 200,
    seed: int = 0,
    episodes: tuple[Episode, ...] = (),
    start: str = "2024-01-02",
) -> SyntheticMarket:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, periods=n_days)
    n_stocks = n_sectors * stocks_per_sector
    stock_sector = np.repeat(np.arange(n_sectors), stocks_per_sector)
    symbols = np.array([f"{100000 + i:06d}" for i in range(n_stocks)])
    markets = np.where(stock_sector < (n_sectors + 1) // 2, "KOSPI", "KOSDAQ")

    returns = rng.normal(0.0, 0.008, (n_days, 1)) + rng.normal(0.0, 0.015, (n_days, n_stocks))
    smart = rng.normal(0.0, 0.04, (n_days, n_stocks))
    for episode in episodes:
        members = stock_sector == episode.sector
        flow_rows = slice(episode.start, episode.start + episode.flow_days)
        drift_rows = slice(episode.start + 1, episode.start + 1 + episode.drift_days)
        smart[flow_rows, members] += episode.direction * 0.3
        returns[drift_rows, members] += episode.direction * episode.daily_drift
    close = np.maximum(np.round(20_000 * np.exp(np.cumsum(returns, axis=0))), 1).astype(np.int64)
    spread = np.abs(rng.normal(0.0, 0.01, close.shape))
    high = np.round(close * (1 + spread)).astype(np.int64)
    low = np.maximum(np.round(close * (1 - spread)), 1).astype(np.int64)
    volume = rng.integers(10_000, 200_000, close.shape)
    trading_value = close * volume

    day_index, stock_index = np.meshgrid(np.arange(n_days), np.arange(n_stocks), indexing="ij")
    dates = np.array([d.date() for d in days])
    prices = pd.DataFrame(
        {
            "time": dates[day_index.ravel()],
            "symbol": symbols[stock_index.ravel()],
            "open": close.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
            "trading_value": trading_value.ravel(),
        }
    )
    foreign = np.round(smart * trading_value * 0.6).astype(np.int64)
    institution = np.round(smart * trading_value * 0.4 + rng.normal(0, 0.01, close.shape) * trading_value)
    institution = institution.astype(np.int64)
    flows = prices[["time", "symbol"]].assign(
        foreign_net_value=foreign.ravel(),
        institution_net_value=institution.ravel(),
        retail_net_value=-(foreign + institution).ravel(),
    )
    master = pd.DataFrame(
        {
            "symbol": symbols,
            "valid_from": dates[0],
            "name": [f"종목{i}" for i in range(n_stocks)],
            "market": markets,
            "sector_code": [sector_code(s) for s in stock_sector],
            "sector_name": [f"업종{s}" for s in stock_sector],
            "listed_shares": rng.integers(1_000_000, 50_000_000, n_stocks),
        }
    )
    return SyntheticMarket(master, prices, flows)


def perturbed_after(market: SyntheticMarket, cutoff: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every value after the cutoff scrambled, and a sector move that only starts after it."""
    prices = market.daily_prices.copy()
    later = prices["time"] > cutoff
    prices.loc[later, ["close", "high", "low"]] = prices.loc[later, ["close", "high", "low"]] * 3
    prices.loc[later, "volume"] = 1
    flows = market.investor_trends.copy()
    flows.loc[flows["time"] > cutoff, "foreign_net_value"] = 10**12
    moved = market.stock_master.iloc[[0]].assign(valid_from=cutoff + timedelta(days=1), sector_code="9999")
    return pd.concat([market.stock_master, moved], ignore_index=True), prices, flows
