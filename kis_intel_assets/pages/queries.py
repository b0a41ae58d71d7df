"""SQL behind the pages: one query per panel, each touching only the day(s) shown.

Every query is keyed by a date or by (symbol, date range), so it runs on the (time DESC) and primary-key
indexes; per-day sector sums are computed in SQL rather than by loading history into Python, and the
short-overheat watch list is read from the overheat_candidates table the analytics materialize.
Membership is point in time: a stock-day takes the stock_master row with the latest valid_from on or
before that day.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg
from psycopg import sql

from kis_intel_assets.markets import MARKETS
from kis_intel_assets.storage import fetch_frame

DAY_TABLES = ("daily_prices", "rotation_signal")
OVERHEAT_SORT_COLUMNS = (
    "symbol", "name", "market", "rule_type", "price_change_pct", "short_ratio", "short_value_multiple",
    "avg_short_value_40d", "short_ratio_40d", "ban_start", "ban_date", "ban_days",
)  # fmt: skip
NEAR_LIMIT = 20  # stocks in the watch list
MASTER_AS_OF = """master AS (
    SELECT DISTINCT ON (symbol) symbol, name, market, sector_code, sector_name, listed_shares
      FROM stock_master WHERE valid_from <= %(day)s ORDER BY symbol, valid_from DESC)"""


def stored_days(conn: psycopg.Connection, table: str) -> list[date]:
    """Distinct days of a table, oldest first, by a loose index scan (one index probe per day)."""
    if table not in DAY_TABLES:
        raise ValueError(f"table must be one of {DAY_TABLES}, got {table!r}")
    query = sql.SQL(
        """WITH RECURSIVE days AS (
               (SELECT time FROM {table} ORDER BY time DESC LIMIT 1)
               UNION ALL
               SELECT (SELECT t.time FROM {table} t WHERE t.time < d.time ORDER BY t.time DESC LIMIT 1)
                 FROM days d WHERE d.time IS NOT NULL)
           SELECT time FROM days WHERE time IS NOT NULL ORDER BY time"""
    ).format(table=sql.Identifier(table))
    return [row[0] for row in conn.execute(query).fetchall()]


def sector_map_stocks(conn: psycopg.Connection, day: date) -> pd.DataFrame:
    """Member stocks of the day with market cap (close × listed shares) and each group's net flow."""
    return fetch_frame(
        conn,
        f"""WITH {MASTER_AS_OF}
            SELECT p.symbol, m.name, m.market, m.sector_code, m.sector_name,
                   p.close::float8 * m.listed_shares AS market_cap,
                   t.foreign_net_value::float8 AS foreign_net_value,
                   t.institution_net_value::float8 AS institution_net_value,
                   t.retail_net_value::float8 AS retail_net_value
              FROM daily_prices p
              JOIN master m USING (symbol)
              LEFT JOIN investor_trends t ON t.symbol = p.symbol AND t.time = p.time
             WHERE p.time = %(day)s AND m.listed_shares IS NOT NULL
             ORDER BY m.sector_code, p.symbol""",
        {"day": day},
    )


def sector_rotation_day(conn: psycopg.Connection, day: date) -> pd.DataFrame:
    """The sector_money_flow asset's numbers for the day (empty before the analytics ran)."""
    return fetch_frame(
        conn,
        """SELECT sector_code, sector_name, market, member_count, market_cap::float8 AS market_cap,
                  foreign_flow::float8 AS foreign_flow, institution_flow::float8 AS institution_flow,
                  individual_flow::float8 AS individual_flow, flow_intensity_cap_bp, money_flow_index
             FROM sector_rotation WHERE time = %(day)s""",
        {"day": day},
    )


def designations(conn: psycopg.Connection, day: date, market: str, sort: str, order: str) -> pd.DataFrame:
    """short_overheat rows of the day with the stock's name, filtered by market, sorted server-side."""
    if sort not in OVERHEAT_SORT_COLUMNS or order not in ("asc", "desc"):
        raise ValueError(f"unsupported sort {sort!r} {order!r}")
    query = sql.SQL(
        """WITH {master}
           SELECT o.symbol, coalesce(m.name, o.symbol) AS name, o.market, o.rule_type, o.price_change_pct,
                  o.short_ratio, o.short_value_multiple, o.avg_short_value_40d, o.short_ratio_40d,
                  o.quarter_ratio_threshold, o.ban_start, o.ban_date, o.ban_days
             FROM short_overheat o LEFT JOIN master m USING (symbol)
            WHERE o.time = %(day)s AND (%(market)s = 'all' OR o.market = %(market)s)
            ORDER BY {column} {direction} NULLS LAST, o.symbol"""
    ).format(
        master=sql.SQL(MASTER_AS_OF),
        column=sql.Identifier(sort),
        direction=sql.SQL("ASC" if order == "asc" else "DESC"),
    )
    return fetch_frame(conn, query, {"day": day, "market": market})


def near_designation(conn: psycopg.Connection, day: date, market: str) -> pd.DataFrame:
    """The day's undesignated overheat_candidates rows closest to a type ① designation, closest first."""
    return fetch_frame(
        conn,
        f"""WITH {MASTER_AS_OF}
            SELECT c.symbol, m.name, c.market, c.closeness_pct, c.price_change_pct, c.short_ratio,
                   c.quarter_ratio_threshold, c.short_value_multiple, c.avg_short_value_40d
              FROM overheat_candidates c JOIN master m USING (symbol)
             WHERE c.time = %(day)s AND (%(market)s = 'all' OR c.market = %(market)s)
               AND NOT EXISTS (SELECT 1 FROM short_overheat o WHERE o.symbol = c.symbol AND o.time = c.time)
             ORDER BY c.closeness_pct DESC, c.short_value_multiple DESC, c.symbol
             LIMIT %(limit)s""",
        {"day": day, "market": market, "limit": NEAR_LIMIT},
    )


def quarter_thresholds(conn: psycopg.Connection, day: date) -> dict[str, dict[str, object]]:
    """Per market (KOSPI first): the type ① threshold the day's candidates were measured against and how
    it was found; empty when overheat_candidates has no row for the day."""
    rows = conn.execute(
        """SELECT DISTINCT ON (market) market, quarter_ratio_threshold, threshold_source
             FROM overheat_candidates WHERE time = %s ORDER BY market""",
        (day,),
    ).fetchall()
    found = {market: {"value": value, "source": source} for market, value, source in rows}
    return {market: found[market] for market in MARKETS if market in found}


def stock_name(conn: psycopg.Connection, symbol: str, day: date) -> tuple[str, str] | None:
    row = conn.execute(
        """SELECT name, market FROM stock_master WHERE symbol = %s AND valid_from <= %s
            ORDER BY valid_from DESC LIMIT 1""",
        (symbol, day),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def stock_short_history(conn: psycopg.Connection, symbol: str, first: date, last: date) -> pd.DataFrame:
    """Close and short ratio of one stock between two days (primary-key range scans)."""
    return fetch_frame(
        conn,
        """SELECT p.time, p.close, s.short_value_ratio AS short_ratio, s.short_amount
             FROM daily_prices p
             LEFT JOIN short_selling s ON s.symbol = p.symbol AND s.time = p.time
            WHERE p.symbol = %(symbol)s AND p.time BETWEEN %(first)s AND %(last)s
            ORDER BY p.time""",
        {"symbol": symbol, "first": first, "last": last},
    )


def stock_designations(conn: psycopg.Connection, symbol: str, first: date, last: date) -> pd.DataFrame:
    return fetch_frame(
        conn,
        """SELECT time, rule_type, short_value_multiple, ban_start, ban_date, ban_days FROM short_overheat
            WHERE symbol = %s AND time BETWEEN %s AND %s ORDER BY time""",
        (symbol, first, last),
    )


def rotation_tails(conn: psycopg.Connection, days: list[date]) -> pd.DataFrame:
    return fetch_frame(
        conn,
        """SELECT time, sector_code, rs_ratio, rs_momentum, quadrant FROM rotation_signal
            WHERE time = ANY(%(days)s::date[]) AND rs_ratio IS NOT NULL AND rs_momentum IS NOT NULL
            ORDER BY sector_code, time""",
        {"days": days},
    )


def rotation_day(conn: psycopg.Connection, day: date) -> pd.DataFrame:
    """Signals of the day with sector names (from sector_rotation, else the point-in-time master)."""
    return fetch_frame(
        conn,
        """SELECT r.sector_code,
                  coalesce(f.sector_name,
                           (SELECT sm.sector_name FROM stock_master sm
                             WHERE sm.sector_code = r.sector_code AND sm.valid_from <= r.time
                             ORDER BY sm.valid_from DESC LIMIT 1),
                           r.sector_code) AS sector_name,
                  f.market, r.signal, r.score, r.reason, r.rs_ratio, r.rs_momentum, r.quadrant,
                  r.flow_z20, r.flow_z60, r.signal_method, r.price_signal, r.price_score
             FROM rotation_signal r
             LEFT JOIN sector_rotation f ON f.sector_code = r.sector_code AND f.time = r.time
            WHERE r.time = %(day)s
            ORDER BY r.score DESC, r.sector_code""",
        {"day": day},
    )


def scorecard(conn: psycopg.Connection, day: date) -> pd.DataFrame:
    """The newest scorecard evaluated on or before the day."""
    return fetch_frame(
        conn,
        """SELECT * FROM rotation_scorecard
            WHERE time = (SELECT max(time) FROM rotation_scorecard WHERE time <= %(day)s)
            ORDER BY method, horizon""",
        {"day": day},
    )
