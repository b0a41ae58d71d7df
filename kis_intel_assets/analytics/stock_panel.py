"""Joins prices, investor flows and point-in-time sector membership into one stock-day panel.

Membership is point in time: a stock-day takes the stock_master row with the latest `valid_from` on or
before that day (the stock's sector, market and listed shares as they were then). Stock-days before a
stock's first master row belong to no sector or market and are dropped, because assigning them would leak
a later classification backwards.

The panel is a set of aligned numpy arrays, not a DataFrame of strings: joins use integer keys (symbol
code << 32 + day number) and binary search, and text columns stay in the small master table, referenced by
row number. When investor_trends lists the same (symbol, time) rows in the same order as daily_prices (two
queries with the same ORDER BY), the flow join is a plain alignment check instead of a hash join.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    DAY_BITS,
    as_dates,
    day_numbers,
    entity_codes,
    float_column,
    group_positions,
    require_columns,
    sort_by_entity_day,
)
from kis_intel_assets.markets import MARKETS

MASTER_COLUMNS = ("symbol", "valid_from", "market", "sector_code", "sector_name", "listed_shares")
PRICE_COLUMNS = ("high", "low", "close", "volume", "trading_value")
FLOW_COLUMNS = ("foreign_net_value", "institution_net_value", "retail_net_value")


@dataclass(frozen=True)
class StockPanel:
    """Stock-day rows sorted by (symbol, time) as aligned arrays.

    `values` holds listed_shares (NaN when unknown), the price columns and, when flows were given, the
    *_net_value columns (NaN where the stock-day has no investor_trends row), all float64.
    """

    days: np.ndarray
    symbol_codes: np.ndarray
    positions: np.ndarray
    symbols: pd.Index
    master: pd.DataFrame
    master_rows: np.ndarray
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.days)

    def times(self, rows: np.ndarray | None = None) -> np.ndarray:
        return as_dates(self.days if rows is None else self.days[rows])

    def symbol_names(self, rows: np.ndarray) -> np.ndarray:
        return self.symbols.take(self.symbol_codes[rows]).to_numpy()

    def master_codes(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """Integer codes of a master column for every panel row, and the labels they stand for."""
        codes, labels = pd.factorize(self.master[column], sort=True)
        return codes[self.master_rows], pd.Index(labels)


def _validate_master(stock_master: pd.DataFrame) -> None:
    require_columns(stock_master, MASTER_COLUMNS, "stock_master")
    for column in ("symbol", "valid_from", "market", "sector_code", "sector_name"):
        nulls = int(stock_master[column].isna().sum())
        if nulls:
            raise ValueError(f"stock_master.{column} has {nulls} null values; it must be complete")
    bad_markets = sorted(set(stock_master["market"]) - set(MARKETS))
    if bad_markets:
        raise ValueError(f"stock_master.market must be one of {MARKETS}, got {bad_markets}")
    if (float_column(stock_master, "listed_shares", "stock_master", nullable=True) < 0).any():
        raise ValueError("stock_master.listed_shares has negative values")


def _price_values(daily_prices: pd.DataFrame, order: np.ndarray) -> dict[str, np.ndarray]:
    values = {column: float_column(daily_prices, column, "daily_prices")[order] for column in PRICE_COLUMNS}
    for column in ("high", "low", "volume", "trading_value"):
        if (values[column] < 0).any():
            raise ValueError(f"daily_prices.{column} has negative values")
    if (values["close"] <= 0).any():
        raise ValueError("daily_prices.close must be positive")
    return values


def build_stock_panel(
    stock_master: pd.DataFrame, daily_prices: pd.DataFrame, investor_trends: pd.DataFrame | None = None
) -> StockPanel:
    """Point-in-time membership, prices and (optionally) net flows for every member stock-day."""
    _validate_master(stock_master)
    require_columns(daily_prices, ("time", "symbol", *PRICE_COLUMNS), "daily_prices")
    order, codes, days, symbols = sort_by_entity_day(
        daily_prices["symbol"], daily_prices["time"], "daily_prices"
    )
    keys = (codes.astype(np.int64) << DAY_BITS) + days

    master_codes = symbols.get_indexer(pd.Index(stock_master["symbol"]))
    master = stock_master.loc[master_codes >= 0]
    master_keys = (master_codes[master_codes >= 0].astype(np.int64) << DAY_BITS) + day_numbers(
        master["valid_from"], "stock_master.valid_from"
    )
    master_order = np.argsort(master_keys, kind="stable")
    master_keys, master = master_keys[master_order], master.iloc[master_order].reset_index(drop=True)
    if len(master_keys) > 1 and (master_keys[1:] == master_keys[:-1]).any():
        raise ValueError("stock_master has duplicate (symbol, valid_from) rows")

    match = np.searchsorted(master_keys, keys, side="right") - 1
    member = match >= 0
    member[member] = (master_keys[match[member]] >> DAY_BITS) == codes[member]
    values = {name: array[member] for name, array in _price_values(daily_prices, order).items()}
    master_rows = match[member]
    values["listed_shares"] = float_column(master, "listed_shares", "stock_master", nullable=True)[
        master_rows
    ]
    if investor_trends is not None:
        rows = _flow_rows(investor_trends, daily_prices, order[member], symbols, keys[member])
        for column in FLOW_COLUMNS:
            flow = float_column(investor_trends, column, "investor_trends", nullable=True)
            values[column] = np.append(flow, np.nan)[rows]  # row -1 (no flow row) reads the NaN
    return StockPanel(
        days=days[member],
        symbol_codes=codes[member],
        positions=group_positions(codes[member]),
        symbols=symbols,
        master=master,
        master_rows=master_rows,
        values=values,
    )


def _flow_rows(
    investor_trends: pd.DataFrame,
    daily_prices: pd.DataFrame,
    price_rows: np.ndarray,
    symbols: pd.Index,
    panel_keys: np.ndarray,
) -> np.ndarray:
    """For every panel row, the investor_trends row of the same stock-day, or -1."""
    require_columns(investor_trends, ("time", "symbol", *FLOW_COLUMNS), "investor_trends")
    if len(investor_trends) == len(daily_prices) and _same_values(investor_trends, daily_prices):
        return price_rows
    codes, labels = entity_codes(investor_trends["symbol"], "investor_trends.symbol")
    row_codes = symbols.get_indexer(labels)[codes]
    keys = (row_codes.astype(np.int64) << DAY_BITS) + day_numbers(
        investor_trends["time"], "investor_trends.time"
    )
    keys[row_codes < 0] = -1 - np.arange(int((row_codes < 0).sum()))  # unknown symbols never match
    index = pd.Index(keys)
    if not index.is_unique:
        raise ValueError("investor_trends has duplicate (symbol, time) rows")
    return index.get_indexer(panel_keys)


def _same_values(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    return all(
        np.array_equal(left[column].to_numpy(), right[column].to_numpy()) for column in ("symbol", "time")
    )
