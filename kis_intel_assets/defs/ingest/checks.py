"""Table-level checks that read PostgreSQL after a partition is written.

The in-asset pandera check guards each batch before it is written; these look at what the table holds for
the partition afterwards: every trading day has rows, the rows cover the followed universe, and every
key is unique and belongs to a known stock.
"""

from datetime import date

import dagster as dg
from psycopg import sql

from kis_intel_assets.defs.partitions import trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.krx_calendar import trading_days

SYMBOL_TABLES = ("daily_prices", "investor_trends", "short_selling", "program_trading")
# Suspended or newly listed stocks legitimately miss days; below this share of the universe, look closer.
MIN_COVERAGE = 0.95


def _window(context: dg.AssetCheckExecutionContext) -> tuple[date, date]:
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def build_table_checks(table: str) -> dg.AssetChecksDefinition:
    specs = [
        dg.AssetCheckSpec(
            "partition_not_empty",
            asset=table,
            partitions_def=trading_day_partitions,
            description="every trading day of the partition has rows",
        ),
        dg.AssetCheckSpec(
            "coverage_vs_universe",
            asset=table,
            partitions_def=trading_day_partitions,
            description=f"each trading day covers at least {MIN_COVERAGE:.0%} of the followed stocks",
        ),
        dg.AssetCheckSpec(
            "keys_unique_and_known",
            asset=table,
            partitions_def=trading_day_partitions,
            description="no duplicate (symbol, time) and no symbol missing from stock_master",
        ),
    ]

    @dg.multi_asset_check(specs=specs, name=f"{table}_table_checks")
    def _checks(context: dg.AssetCheckExecutionContext, database: DatabaseResource):
        start, end = _window(context)
        days = trading_days(start, end)
        ident = sql.Identifier(table)
        with database.connection() as conn:
            per_day = dict(
                conn.execute(
                    sql.SQL(
                        "SELECT time, count(DISTINCT symbol) FROM {} "
                        "WHERE time BETWEEN %s AND %s GROUP BY time"
                    ).format(ident),
                    (start, end),
                ).fetchall()
            )
            universe = conn.execute(
                """SELECT count(DISTINCT symbol) FROM stock_master
                    WHERE last_seen = (SELECT max(last_seen) FROM stock_master)"""
            ).fetchone()[0]
            duplicates, orphans = conn.execute(
                sql.SQL(
                    """SELECT (SELECT count(*) FROM (SELECT 1 FROM {t} WHERE time BETWEEN %(s)s AND %(e)s
                                                      GROUP BY symbol, time HAVING count(*) > 1) d),
                              (SELECT count(DISTINCT t.symbol) FROM {t} t
                                WHERE t.time BETWEEN %(s)s AND %(e)s
                                  AND NOT EXISTS (SELECT 1 FROM stock_master m WHERE m.symbol = t.symbol))"""
                ).format(t=ident),
                {"s": start, "e": end},
            ).fetchone()

        empty_days = [d.isoformat() for d in days if per_day.get(d, 0) == 0]
        yield dg.AssetCheckResult(
            check_name="partition_not_empty",
            asset_key=table,
            passed=not empty_days,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"trading_days": len(days), "empty_days": dg.MetadataValue.json(empty_days)},
        )
        coverage = {d.isoformat(): per_day.get(d, 0) / universe if universe else 0.0 for d in days}
        low = {d: round(c, 4) for d, c in coverage.items() if c < MIN_COVERAGE}
        yield dg.AssetCheckResult(
            check_name="coverage_vs_universe",
            asset_key=table,
            passed=not low,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "universe": universe,
                "min_coverage": round(min(coverage.values(), default=0.0), 4),
                "days_below_threshold": dg.MetadataValue.json(low),
            },
        )
        yield dg.AssetCheckResult(
            check_name="keys_unique_and_known",
            asset_key=table,
            passed=duplicates == 0 and orphans == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"duplicate_keys": duplicates, "unknown_symbols": orphans},
        )

    return _checks


table_checks = [build_table_checks(table) for table in SYMBOL_TABLES]
