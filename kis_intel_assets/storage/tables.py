"""The tables the assets write: each one's primary key, its asset, how it keys a day, what it supersedes.

One definition per table, read wherever a table's identity matters: `upsert_frame` conflicts on the key,
the RFC-010 day conversion picks the KST-day tables, the ingest marks the superseded provisional rows,
and the asset catalog's metadata shows the key. A test compares every key with the PRIMARY KEY the sql/
migrations give the table and every asset's `dagster/table_name` with the asset registered here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SYMBOL_DAY = ("symbol", "time")
DAY_SYMBOL = ("time", "symbol")  # the RFC-010 tables put `time` first (docs/rfc010_contract.md)


@dataclass(frozen=True)
class Table:
    """One table an asset writes."""

    name: str
    key: tuple[str, ...]  # the PRIMARY KEY, in the migrations' column order
    asset: str  # the asset that materializes it (a table's name and its asset's may differ)
    # RFC-010: `time` is 00:00 Asia/Seoul of the trading day, a Python date in frames.
    kst_day: bool = False
    # The provisional intraday table whose rows this table's final rows mark superseded.
    supersedes: str | None = None


_REGISTERED = (
    # ingest
    Table("stock_master", ("symbol", "valid_from"), asset="stock_universe"),
    Table("daily_prices", SYMBOL_DAY, asset="daily_prices"),
    Table(
        "investor_trends",
        DAY_SYMBOL,
        asset="investor_trends",
        kst_day=True,
        supersedes="intraday_investor_estimates",
    ),
    Table("short_selling", DAY_SYMBOL, asset="short_selling", kst_day=True),
    Table(
        "program_trading",
        DAY_SYMBOL,
        asset="program_trading",
        kst_day=True,
        supersedes="intraday_program_trading",
    ),
    Table("program_trading_market", ("market", "trade_type", "time"), asset="program_trading_market"),
    Table("intraday_program_trading", SYMBOL_DAY, asset="intraday_program_trading"),
    Table("intraday_investor_estimates", SYMBOL_DAY, asset="intraday_investor_estimates"),
    Table("stock_lending", DAY_SYMBOL, asset="stock_lending"),
    Table("short_overheat_designations", DAY_SYMBOL, asset="short_overheat_designations"),
    # KRX data portal
    Table("short_balance", DAY_SYMBOL, asset="short_balance"),
    Table("krx_investor_flows", ("time", "symbol", "group"), asset="krx_investor_flows"),
    # analytics
    Table("stock_mfi", SYMBOL_DAY, asset="stock_money_flow_index"),
    Table("sector_rotation", ("time", "sector_code"), asset="sector_money_flow", kst_day=True),
    Table("rotation_signal", ("sector_code", "time"), asset="rotation_signal"),
    Table("rotation_transition", ("sector_code", "kind", "time"), asset="rotation_transition"),
    Table("rotation_scorecard", ("method", "horizon", "time"), asset="rotation_scorecard"),
    Table("short_overheat", SYMBOL_DAY, asset="short_overheat"),
    Table("overheat_candidates", DAY_SYMBOL, asset="overheat_candidates"),
    Table("concentrated_buying", ("symbol", "investor", "time"), asset="concentrated_buying"),
)
TABLES: Mapping[str, Table] = MappingProxyType({table.name: table for table in _REGISTERED})
KST_DAY_TABLES = frozenset(table.name for table in _REGISTERED if table.kst_day)


def registered_table(name: str) -> Table:
    """The registry's entry for `name`; a table written without one has no known key to upsert on."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(
            f"table {name!r} is not registered in kis_intel_assets/storage/tables.py (its key, asset)"
        ) from None
