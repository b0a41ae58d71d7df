"""Table-level checks that read PostgreSQL after a partition is written, one result per trading day.

The in-asset pandera check guards each batch before it is written; these look at what the table holds for
each day afterwards: the day has rows, the rows cover the stocks listed that day, every key is unique and
belongs to a known stock, and which days KIS could not serve (not published yet, beyond its history
limit: `ingest_unavailable`), which the first two checks skip instead of calling them missing. They run
after the asset in its run and on their own (re-checking after a fix reads the database only; nothing is
fetched from KIS again).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import psycopg
from psycopg import sql

from kis_intel_assets.defs.partition_checks import DailyCheck, Measure, build_daily_checks
from kis_intel_assets.markets import MARKETS

SYMBOL_TABLES = ("daily_prices", "investor_trends", "short_selling", "program_trading")
MARKET_TABLE = "program_trading_market"
TRADE_TYPES = ("arbitrage", "non_arbitrage", "total")
# Below this share of the stocks listed that day, look closer.
MIN_COVERAGE = 0.95


@dataclass(frozen=True)
class TableDay:
    """What one table holds for one trading day, and what KIS could not serve for it."""

    stocks: int
    listed: int  # stocks known to stock_master whose first..last row spans the day
    duplicate_keys: int
    unknown_symbols: int
    unavailable: tuple[tuple[str, str, str], ...] = ()  # (table, kind, reason) from ingest_unavailable

    @property
    def skipped(self) -> bool:
        """KIS could not serve the day: not a missing day."""
        return bool(self.unavailable)

    @property
    def coverage(self) -> float:
        return self.stocks / self.listed if self.listed else 0.0


def _unavailable(
    conn: psycopg.Connection, table: str, window: tuple[date, date]
) -> dict[date, tuple[tuple[str, str, str], ...]]:
    """The days of the window KIS could not serve for `table` (ingest_unavailable), with why."""
    unavailable: dict[date, list[tuple[str, str, str]]] = {}
    for name, day, kind, reason in conn.execute(
        """SELECT table_name, day, kind, reason FROM ingest_unavailable
            WHERE table_name = %s AND day BETWEEN %s AND %s ORDER BY day""",
        (table, *window),
    ).fetchall():
        unavailable.setdefault(day, []).append((name, kind, reason))
    return {day: tuple(entries) for day, entries in unavailable.items()}


def measure_table(table: str) -> Measure[TableDay]:
    ident = sql.Identifier(table)

    def measure(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, TableDay]:
        window = (min(days), max(days))
        rows = conn.execute(
            sql.SQL(
                """SELECT t.time::date, count(DISTINCT t.symbol), count(*) - count(DISTINCT t.symbol),
                          count(DISTINCT t.symbol) FILTER (WHERE NOT EXISTS (
                              SELECT 1 FROM stock_master m WHERE m.symbol = t.symbol))
                     FROM {} t WHERE t.time BETWEEN %s AND %s GROUP BY t.time::date"""
            ).format(ident),
            window,
        ).fetchall()
        # A stock counts on the days between its first and its last row: before its listing and after its
        # delisting KIS has no rows for it, which is not missing coverage.
        listed: dict[date, int] = dict(
            conn.execute(
                sql.SQL(
                    """WITH span AS (SELECT symbol, min(time) AS first, max(time) AS last FROM {}
                                      GROUP BY symbol)
                       SELECT d::date, count(span.symbol)
                         FROM unnest(%s::date[]) AS d
                         JOIN span ON d BETWEEN span.first AND span.last
                        WHERE EXISTS (SELECT 1 FROM stock_master m WHERE m.symbol = span.symbol)
                        GROUP BY d"""
                ).format(ident),
                (list(days),),
            ).fetchall()
        )
        unavailable = _unavailable(conn, table, window)
        held = {day: (stocks, dups, unknown) for day, stocks, dups, unknown in rows}
        measured = {}
        for day in days:
            stocks, dups, unknown = held.get(day, (0, 0, 0))
            measured[day] = TableDay(stocks, listed.get(day, 0), dups, unknown, unavailable.get(day, ()))
        return measured

    return measure


@dataclass(frozen=True)
class MarketDay:
    """What program_trading_market holds for one trading day: its (market, trade_type) rows."""

    rows: frozenset[tuple[str, str]]
    unavailable: tuple[tuple[str, str, str], ...] = ()

    @property
    def missing(self) -> list[str]:
        return [f"{m} {t}" for m in MARKETS for t in TRADE_TYPES if (m, t) not in self.rows]


def measure_markets(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, MarketDay]:
    window = (min(days), max(days))
    held: dict[date, set[tuple[str, str]]] = {}
    for day, market, trade_type in conn.execute(
        "SELECT time, market, trade_type FROM program_trading_market WHERE time BETWEEN %s AND %s", window
    ).fetchall():
        held.setdefault(day, set()).add((market, trade_type))
    unavailable = _unavailable(conn, MARKET_TABLE, window)
    return {day: MarketDay(frozenset(held.get(day, ())), unavailable.get(day, ())) for day in days}


def _served(day: TableDay | MarketDay) -> tuple[bool, Mapping[str, object]]:
    listed = [{"table": name, "kind": kind, "reason": reason} for name, kind, reason in day.unavailable]
    return not day.unavailable, {"unavailable": dg.MetadataValue.json(listed)}


SERVED_BY_KIS = "served_by_kis", "KIS served the day (not: unpublished yet, beyond its history limit)"

TABLE_CHECKS: list[DailyCheck[TableDay]] = [
    DailyCheck(
        "partition_not_empty",
        "the trading day has rows (unless KIS could not serve it: see served_by_kis)",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (day.stocks > 0 or day.skipped, {"stocks": day.stocks, "unavailable": day.skipped}),
    ),
    DailyCheck(
        "coverage_vs_universe",
        f"the trading day covers at least {MIN_COVERAGE:.0%} of the stocks listed that day",
        dg.AssetCheckSeverity.WARN,
        lambda day: (
            day.skipped or day.coverage >= MIN_COVERAGE,
            {"stocks": day.stocks, "listed": day.listed, "coverage": round(day.coverage, 4)},
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
    DailyCheck(*SERVED_BY_KIS, dg.AssetCheckSeverity.WARN, _served),
]

MARKET_CHECKS: list[DailyCheck[MarketDay]] = [
    DailyCheck(
        "markets_complete",
        "KOSPI and KOSDAQ each have arbitrage, non_arbitrage and total rows (unless KIS could not serve "
        "the day: see served_by_kis)",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (
            not day.missing or bool(day.unavailable),
            {"missing": dg.MetadataValue.json(day.missing)},
        ),
    ),
    DailyCheck(*SERVED_BY_KIS, dg.AssetCheckSeverity.WARN, _served),
]

table_checks = [
    *(
        build_daily_checks(table, TABLE_CHECKS, measure_table(table), f"{table}_table_checks")
        for table in SYMBOL_TABLES
    ),
    build_daily_checks(MARKET_TABLE, MARKET_CHECKS, measure_markets, f"{MARKET_TABLE}_table_checks"),
]
