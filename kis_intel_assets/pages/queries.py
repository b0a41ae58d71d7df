"""SQL behind the pages: one query per panel, each touching only the day(s) shown.

Every query is keyed by a date or by (symbol, date range), so it runs on the (time DESC) and primary-key
indexes; per-day aggregates (sector sums, 40-day short baselines, quarter ratios) are computed in SQL
rather than by loading history into Python. Membership is point in time: a stock-day takes the
stock_master row with the latest valid_from on or before that day.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg
from psycopg import sql

from kis_intel_assets.analytics.short_overheat import FULL_BANS
from kis_intel_assets.storage import fetch_frame

DAY_TABLES = ("daily_prices", "rotation_signal")
OVERHEAT_SORT_COLUMNS = (
    "symbol", "name", "market", "rule_type", "price_change_pct", "short_ratio", "short_value_multiple",
    "avg_short_value_40d", "short_ratio_40d", "ban_start", "ban_date", "ban_days",
)  # fmt: skip
FLOW_COLUMNS = {
    "foreign": "foreign_net_value",
    "institution": "institution_net_value",
    "individual": "retail_net_value",
}
MASTER_AS_OF = """master AS (
    SELECT DISTINCT ON (symbol) symbol, name, market, sector_code, sector_name, listed_shares
      FROM stock_master WHERE valid_from <= %(day)s ORDER BY symbol, valid_from DESC)"""


def _days_filter(days: list[date]) -> tuple[str, dict[str, date]]:
    """`time` within the days' span, minus full-ban periods: one index range scan instead of a probe per day.

    The day lists come from overheat.outside_bans over stored days, so this selects exactly those days.
    """
    clauses, params = (
        ["time BETWEEN %(span_first)s AND %(span_last)s"],
        {"span_first": days[0], "span_last": days[-1]},
    )
    for number, (first, last) in enumerate(FULL_BANS):
        clauses.append(f"NOT (time BETWEEN %(ban{number}_first)s AND %(ban{number}_last)s)")
        params |= {
            f"ban{number}_first": date.fromisoformat(first),
            f"ban{number}_last": date.fromisoformat(last),
        }
    return " AND ".join(clauses), params


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


def overheat_candidates(
    conn: psycopg.Connection, day: date, market: str, baseline_days: list[date]
) -> pd.DataFrame:
    """Undesignated stocks of the day with their inputs to the type ① test.

    The 40-day baseline sums short value over `baseline_days` (a day without a row counts as 0, as the
    designation rule does) and counts the days the stock traded; each table is aggregated per symbol on
    its own (time index scans) before the join, so the work is ~2 × 40 × symbols index rows.
    """
    window, window_params = _days_filter(baseline_days)
    return fetch_frame(
        conn,
        f"""WITH {MASTER_AS_OF},
            today AS (
                SELECT s.symbol, s.short_amount::float8 AS short_amount, s.short_value_ratio AS short_ratio,
                       p.close::float8 AS close,
                       (SELECT q.close FROM daily_prices q WHERE q.symbol = s.symbol AND q.time < s.time
                         ORDER BY q.time DESC LIMIT 1)::float8 AS previous_close
                  FROM short_selling s JOIN daily_prices p ON p.symbol = s.symbol AND p.time = s.time
                 WHERE s.time = %(day)s),
            baseline_short AS (
                SELECT symbol, sum(short_amount)::float8 AS short_sum FROM short_selling
                 WHERE {window} GROUP BY symbol),
            baseline_traded AS (
                SELECT symbol, count(*) FILTER (WHERE trading_value > 0) AS traded_days FROM daily_prices
                 WHERE {window} GROUP BY symbol),
            baseline AS (
                SELECT symbol, coalesce(s.short_sum, 0) AS short_sum, d.traded_days
                  FROM baseline_traded d LEFT JOIN baseline_short s USING (symbol))
            SELECT t.symbol, m.name, m.market, t.close, t.previous_close, t.short_ratio, t.short_amount,
                   b.short_sum / %(n)s AS avg_short_value_40d, b.traded_days
              FROM today t JOIN master m USING (symbol) JOIN baseline b USING (symbol)
             WHERE (%(market)s = 'all' OR m.market = %(market)s)
               AND NOT EXISTS (SELECT 1 FROM short_overheat o
                                WHERE o.symbol = t.symbol AND o.time = %(day)s)""",
        {"day": day, "market": market, "n": float(len(baseline_days)), **window_params},
    )


def market_short_ratios(conn: psycopg.Connection, day: date, quarter_days: list[date]) -> dict[str, float]:
    """Value-weighted short ratio (%) per market over the given days, membership as of `day`.

    Σ short value / Σ trading value, each summed per symbol on its own table (time index scans) and then
    per market; a stock-day with prices but no short_selling row adds turnover and no short value.
    """
    window, window_params = _days_filter(quarter_days)
    rows = conn.execute(
        f"""WITH {MASTER_AS_OF},
            shorts AS (SELECT symbol, sum(short_amount) AS short_amount FROM short_selling
                        WHERE {window} GROUP BY symbol),
            turnover AS (SELECT symbol, sum(trading_value) AS trading_value FROM daily_prices
                          WHERE {window} GROUP BY symbol)
            SELECT m.market,
                   100.0 * sum(coalesce(s.short_amount, 0))::float8 / nullif(sum(t.trading_value), 0)::float8
              FROM turnover t JOIN master m USING (symbol) LEFT JOIN shorts s USING (symbol)
             GROUP BY m.market""",
        {"day": day, **window_params},
    ).fetchall()
    return {market: ratio for market, ratio in rows if ratio is not None}


def thresholds_in_use(conn: psycopg.Connection, day: date, quarter_start: date) -> dict[str, float]:
    """Type ① thresholds the analytics used for this quarter's designations so far, per market."""
    rows = conn.execute(
        """SELECT DISTINCT ON (market) market, quarter_ratio_threshold FROM short_overheat
            WHERE time BETWEEN %s AND %s AND quarter_ratio_threshold IS NOT NULL
            ORDER BY market, time DESC""",
        (quarter_start, day),
    ).fetchall()
    return dict(rows)


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
