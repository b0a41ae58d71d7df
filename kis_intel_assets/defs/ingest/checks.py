"""Table-level checks that read PostgreSQL after a partition is written, one result per trading day.

The in-asset pandera check guards each batch before it is written; these look at what the table holds for
each day afterwards: the day has rows, the rows cover the followed universe, and every key is unique and
belongs to a known stock. They run after the asset in its run and on their own (re-checking after a fix
reads the database only; nothing is fetched from KIS again).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import psycopg
from psycopg import sql

from kis_intel_assets.defs.partition_checks import DailyCheck, Measure, build_daily_checks

SYMBOL_TABLES = ("daily_prices", "investor_trends", "short_selling", "program_trading")
# Suspended or newly listed stocks legitimately miss days; below this share of the universe, look closer.
MIN_COVERAGE = 0.95


@dataclass(frozen=True)
class TableDay:
    """What one table holds for one trading day."""

    stocks: int
    universe: int
    duplicate_keys: int
    unknown_symbols: int

    @property
    def coverage(self) -> float:
        return self.stocks / self.universe if self.universe else 0.0


def measure_table(table: str) -> Measure[TableDay]:
    def measure(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, TableDay]:
        (universe,) = conn.execute(
            """SELECT count(DISTINCT symbol) FROM stock_master
                WHERE last_seen = (SELECT max(last_seen) FROM stock_master)"""
        ).fetchone()
        rows = conn.execute(
            sql.SQL(
                """SELECT t.time, count(DISTINCT t.symbol), count(*) - count(DISTINCT t.symbol),
                          count(DISTINCT t.symbol) FILTER (WHERE NOT EXISTS (
                              SELECT 1 FROM stock_master m WHERE m.symbol = t.symbol))
                     FROM {} t WHERE t.time BETWEEN %s AND %s GROUP BY t.time"""
            ).format(sql.Identifier(table)),
            (min(days), max(days)),
        ).fetchall()
        per_day = {day: TableDay(stocks, universe, dups, unknown) for day, stocks, dups, unknown in rows}
        return {day: per_day.get(day, TableDay(0, universe, 0, 0)) for day in days}

    return measure


TABLE_CHECKS: list[DailyCheck[TableDay]] = [
    DailyCheck(
        "partition_not_empty",
        "the trading day has rows",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (day.stocks > 0, {"stocks": day.stocks}),
    ),
    DailyCheck(
        "coverage_vs_universe",
        f"the trading day covers at least {MIN_COVERAGE:.0%} of the followed stocks",
        dg.AssetCheckSeverity.WARN,
        lambda day: (
            day.coverage >= MIN_COVERAGE,
            {"stocks": day.stocks, "universe": day.universe, "coverage": round(day.coverage, 4)},
        ),
    ),
    DailyCheck(
        "keys_unique_and_known",
        "no duplicate (symbol, time) and no symbol missing from stock_master",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (
            day.duplicate_keys == 0 and day.unknown_symbols == 0,
            {"duplicate_keys": day.duplicate_keys, "unknown_symbols": day.unknown_symbols},
        ),
    ),
]

table_checks = [
    build_daily_checks(table, TABLE_CHECKS, measure_table(table), f"{table}_table_checks")
    for table in SYMBOL_TABLES
]
