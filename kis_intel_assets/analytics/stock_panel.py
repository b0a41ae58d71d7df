"""Joins prices, investor flows and point-in-time sector membership into one stock-day panel.

Membership is point in time: a stock-day takes the stock_master row with the latest `valid_from` on or
before that day (the stock's sector, market and listed shares as they were then). Stock-days before a
stock's first master row belong to no sector or market and are dropped, because assigning them would leak
a later classification backwards.

Joins use integer keys (symbol code × 2^32 + day number) and binary search, so a ten-year, 2,500-symbol
panel joins in well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    as_dates,
    day_numbers,
    group_positions,
    require_columns,
    require_no_nulls,
)

MARKETS = ("KOSPI", "KOSDAQ")
MASTER_COLUMNS = ("symbol", "valid_from", "market", "sector_code", "sector_name", "listed_shares")
PRICE_COLUMNS = ("time", "symbol", "high", "low", "close", "volume", "trading_value")
FLOW_COLUMNS = ("foreign_net_value", "institution_net_value", "individual_net_value")
_DAY_BITS = 32


def _keys(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    return (codes.astype(np.int64) << _DAY_BITS) + days


def _ensure_unique_sorted(keys: np.ndarray, name: str, entity: str) -> None:
    if len(keys) > 1 and (np.diff(keys) == 0).any():
        raise ValueError(f"{name} has duplicate ({entity}, time) rows")


def _validate_master(stock_master: pd.DataFrame) -> None:
    require_columns(stock_master, MASTER_COLUMNS, "stock_master")
    require_no_nulls(
        stock_master, ("symbol", "valid_from", "market", "sector_code", "sector_name"), "stock_master"
    )
    bad_markets = sorted(set(stock_master["market"]) - set(MARKETS))
    if bad_markets:
        raise ValueError(f"stock_master.market must be one of {MARKETS}, got {bad_markets}")
    shares = pd.to_numeric(stock_master["listed_shares"], errors="coerce")
    if (shares < 0).any():
        raise ValueError("stock_master.listed_shares has negative values")


def _validate_prices(daily_prices: pd.DataFrame) -> None:
    require_columns(daily_prices, PRICE_COLUMNS, "daily_prices")
    require_no_nulls(daily_prices, PRICE_COLUMNS, "daily_prices")
    for column in ("high", "low", "volume", "trading_value"):
        if (daily_prices[column] < 0).any():
            raise ValueError(f"daily_prices.{column} has negative values")
    if (daily_prices["close"] <= 0).any():
        raise ValueError("daily_prices.close must be positive")


def build_stock_panel(
    stock_master: pd.DataFrame, daily_prices: pd.DataFrame, investor_trends: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Stock-day rows sorted by (symbol, time) with membership, prices and (optionally) net flows.

    Columns: day (int day number), time (datetime64), symbol, market, sector_code, sector_name,
    listed_shares (float, NaN when unknown), the price columns as floats, `position` (row index within the
    symbol) and, with investor_trends, the *_net_value columns (NaN where the stock-day has no flow row).
    """
    _validate_master(stock_master)
    _validate_prices(daily_prices)

    price_codes, symbols = pd.factorize(daily_prices["symbol"])
    price_days = day_numbers(daily_prices["time"], "daily_prices.time")
    price_keys = _keys(price_codes, price_days)
    order = np.argsort(price_keys, kind="stable")
    price_keys, price_codes, price_days = price_keys[order], price_codes[order], price_days[order]
    _ensure_unique_sorted(price_keys, "daily_prices", "symbol")

    symbol_index = pd.Index(symbols)
    master_codes = symbol_index.get_indexer(stock_master["symbol"])
    known = master_codes >= 0
    master = stock_master.loc[known]
    master_keys = _keys(master_codes[known], day_numbers(master["valid_from"], "stock_master.valid_from"))
    master_order = np.argsort(master_keys, kind="stable")
    master_keys = master_keys[master_order]
    _ensure_unique_sorted(master_keys, "stock_master", "symbol, valid_from")
    master = master.iloc[master_order]

    match = np.searchsorted(master_keys, price_keys, side="right") - 1
    has_member = match >= 0
    has_member[has_member] = (master_keys[match[has_member]] >> _DAY_BITS) == price_codes[has_member]
    rows = order[has_member]
    match = match[has_member]

    panel = pd.DataFrame(
        {
            "day": price_days[has_member],
            "time": as_dates(price_days[has_member]),
            "symbol": symbols.take(price_codes[has_member]),
            "market": master["market"].to_numpy()[match],
            "sector_code": master["sector_code"].to_numpy()[match],
            "sector_name": master["sector_name"].to_numpy()[match],
            "listed_shares": pd.to_numeric(master["listed_shares"], errors="coerce").to_numpy(float)[match],
        }
    )
    for column in ("high", "low", "close", "volume", "trading_value"):
        panel[column] = daily_prices[column].to_numpy(dtype=np.float64)[rows]
    panel["position"] = group_positions(price_codes[has_member])
    if investor_trends is not None:
        _attach_flows(panel, investor_trends, symbol_index, price_keys[has_member])
    return panel


def _attach_flows(
    panel: pd.DataFrame, investor_trends: pd.DataFrame, symbol_index: pd.Index, panel_keys: np.ndarray
) -> None:
    require_columns(investor_trends, ("time", "symbol", *FLOW_COLUMNS), "investor_trends")
    require_no_nulls(investor_trends, ("time", "symbol"), "investor_trends")
    codes = symbol_index.get_indexer(investor_trends["symbol"])
    known = codes >= 0
    flow_keys = _keys(codes[known], day_numbers(investor_trends["time"], "investor_trends.time")[known])
    if len(np.unique(flow_keys)) != len(flow_keys):
        raise ValueError("investor_trends has duplicate (symbol, time) rows")
    match = pd.Index(flow_keys).get_indexer(panel_keys)
    found = match >= 0
    for column in FLOW_COLUMNS:
        values = pd.to_numeric(investor_trends[column], errors="coerce").to_numpy(np.float64)[known]
        out = np.full(len(panel), np.nan)
        out[found] = values[match[found]]
        panel[column] = out
