"""Reading the trailing windows analytics need, in the row order the pure functions are fastest with."""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg
from psycopg import sql

from kis_intel_assets.storage import fetch_frame


def window(conn: psycopg.Connection, table: str, columns: list[str], start: date, end: date) -> pd.DataFrame:
    """Rows of `table` dated start..end, ordered by (symbol, time) like every per-stock reader expects."""
    query = sql.SQL("SELECT {} FROM {} WHERE time BETWEEN %s AND %s ORDER BY symbol, time").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)
    )
    return fetch_frame(conn, query, (start, end))


def stock_master(conn: psycopg.Connection) -> pd.DataFrame:
    return fetch_frame(
        conn,
        """SELECT symbol, valid_from, name, market, sector_code, sector_name, listed_shares
             FROM stock_master ORDER BY symbol, valid_from""",
    )


def sector_rotation(conn: psycopg.Connection, start: date | None, end: date) -> pd.DataFrame:
    """sector_money_flow's output for start..end (all history when start is None)."""
    return fetch_frame(
        conn,
        """SELECT * FROM sector_rotation
            WHERE (%(start)s::date IS NULL OR time >= %(start)s) AND time <= %(end)s
            ORDER BY sector_code, time""",
        {"start": start, "end": end},
    )


def rotation_signals(conn: psycopg.Connection) -> pd.DataFrame:
    return fetch_frame(conn, "SELECT * FROM rotation_signal ORDER BY sector_code, time")


def market_day_totals(conn: psycopg.Connection) -> pd.DataFrame:
    """Short and trading value per market-day over all stored history (analytics' MARKET_DAY_COLUMNS).

    The previous-quarter threshold is a value-weighted market average (Σ short / Σ value), so market-day
    totals give the same quarter ratios as every stock-day would, at a fraction of the rows.
    """
    return fetch_frame(
        conn,
        """SELECT s.time, m.market,
                  sum(p.trading_value)::bigint AS trading_value, sum(s.short_amount)::bigint AS short_amount
             FROM short_selling s
             JOIN daily_prices p USING (symbol, time)
             JOIN LATERAL (SELECT market FROM stock_master sm
                            WHERE sm.symbol = s.symbol AND sm.valid_from <= s.time
                            ORDER BY sm.valid_from DESC LIMIT 1) m ON TRUE
            GROUP BY s.time, m.market ORDER BY m.market, s.time""",
    )
