"""short_selling's RFC balance columns, filled from the short_balance table (KRX 공매도 잔고).

Both writers call this inside their own transaction: the short_balance asset after writing the balance
(the usual order: balance for T arrives on T+3, after T's short selling), and the short_selling write
after its upsert (a balance stored before its short-selling row). KIS's short_selling frame has no
balance columns, so re-writing short_selling never clears them either.
"""

from __future__ import annotations

from datetime import date

import psycopg


def fill_short_selling_balance(conn: psycopg.Connection, window: tuple[date, date]) -> int:
    """Copy balance_volume / balance_amount / balance_ratio into the window's short_selling rows that
    have a short_balance row for the same stock-day; returns the rows changed."""
    return conn.execute(
        """UPDATE short_selling s
              SET balance_volume = b.balance_volume,
                  balance_amount = b.balance_amount,
                  balance_ratio = b.balance_ratio
             FROM short_balance b
            WHERE b.time BETWEEN %s AND %s
              AND s.symbol = b.symbol AND s.time = b.time
              AND (s.balance_volume, s.balance_amount, s.balance_ratio)
                  IS DISTINCT FROM (b.balance_volume, b.balance_amount, b.balance_ratio)""",
        window,
    ).rowcount
