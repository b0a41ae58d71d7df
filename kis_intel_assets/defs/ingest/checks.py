"""Table-level checks that read PostgreSQL after a partition is written.

The in-asset pandera check guards each batch before it is written; these look at what the table holds for
the partition afterwards: every trading day has rows, the rows cover the followed universe, every key is
unique and belongs to a known stock, and which days KIS could not serve (not published yet, beyond its
history limit: `ingest_unavailable`), which the first two checks skip instead of calling them missing.
"""

from datetime import date

import dagster as dg
from psycopg import sql

from kis_intel_assets.defs.partitions import trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.krx_calendar import trading_days

SYMBOL_TABLES = ("daily_prices", "investor_trends", "short_selling", "program_trading")
# Tables an asset writes next to its own, whose unavailable days its checks report too.
WRITTEN_WITH = {"program_trading": ("program_trading_market",)}
# Below this share of the stocks listed that day, look closer.
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
        dg.AssetCheckSpec(
            "served_by_kis",
            asset=table,
            partitions_def=trading_day_partitions,
            description="KIS served every day of the partition (not: unpublished yet, beyond its history)",
        ),
    ]
    tables = (table, *WRITTEN_WITH.get(table, ()))

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
            # A stock counts on the days between its first and its last row: before its listing and after
            # its delisting KIS has no rows for it, which is not missing coverage.
            listed = dict(
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
                    (days,),
                ).fetchall()
            )
            unavailable = conn.execute(
                """SELECT table_name, day, kind, reason FROM ingest_unavailable
                    WHERE table_name = ANY(%s) AND day BETWEEN %s AND %s ORDER BY table_name, day""",
                (list(tables), start, end),
            ).fetchall()
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

        skipped = {day for name, day, _, _ in unavailable if name == table}
        empty_days = [d.isoformat() for d in days if per_day.get(d, 0) == 0 and d not in skipped]
        coverage = {
            d.isoformat(): per_day.get(d, 0) / listed[d] if listed.get(d) else 0.0
            for d in days
            if d not in skipped
        }
        low = {d: round(c, 4) for d, c in coverage.items() if c < MIN_COVERAGE}
        error, warn = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
        results = (
            ("partition_not_empty", not empty_days, error, {
                "trading_days": len(days),
                "empty_days": dg.MetadataValue.json(empty_days),
                "unavailable_days": len(skipped),
            }),
            ("coverage_vs_universe", not low, warn, {
                "listed_max": max(listed.values(), default=0),
                "min_coverage": round(min(coverage.values(), default=0.0), 4),
                "days_below_threshold": dg.MetadataValue.json(low),
            }),
            ("keys_unique_and_known", duplicates == 0 and orphans == 0, error,
             {"duplicate_keys": duplicates, "unknown_symbols": orphans}),
            ("served_by_kis", not unavailable, warn, {
                "unavailable_days": dg.MetadataValue.json([
                    {"table": name, "day": day.isoformat(), "kind": kind, "reason": reason}
                    for name, day, kind, reason in unavailable
                ]),
            }),
        )  # fmt: skip
        for name, passed, severity, metadata in results:
            yield dg.AssetCheckResult(
                check_name=name, asset_key=table, passed=passed, severity=severity, metadata=metadata
            )

    return _checks


table_checks = [build_table_checks(table) for table in SYMBOL_TABLES]
