"""Checks of the analytics tables, one result per trading day (see defs/partition_checks.py).

They look at what a day's partition left in PostgreSQL: every sector of the followed universe has its
flow row, flows are present where the day's prices were, every sector got a signal, the signals are not
implausibly many, and the RRG state is present once a sector has the history it needs.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import psycopg

from kis_intel_assets import analytics
from kis_intel_assets.defs.partition_checks import DailyCheck, build_daily_checks

ROTATION = analytics.RotationConfig()
# INFLOW or OUTFLOW for more than half the sectors on one day would be a broken threshold, not a market.
MAX_ACTIVE_SIGNAL_SHARE = 0.5

_SECTOR_OF = """JOIN LATERAL (
        SELECT sm.sector_code FROM stock_master sm WHERE sm.symbol = p.symbol
         ORDER BY (sm.valid_from <= p.time) DESC, sm.valid_from DESC LIMIT 1) m ON true"""


@dataclass(frozen=True)
class SectorFlowDay:
    expected_sectors: int
    missing_sectors: tuple[str, ...]
    rows_without_flows: int


@dataclass(frozen=True)
class SignalDay:
    sectors: int
    signals: int
    active: int
    rrg_missing_where_due: int


def measure_sector_flow(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, SectorFlowDay]:
    """Sectors of the stocks priced that day (point-in-time membership) against sector_rotation."""
    rows = conn.execute(
        f"""WITH expected AS (
                SELECT DISTINCT p.time, m.sector_code FROM daily_prices p {_SECTOR_OF}
                 WHERE p.time = ANY(%(days)s))
            SELECT e.time, count(*),
                   coalesce(array_agg(e.sector_code ORDER BY e.sector_code)
                            FILTER (WHERE s.sector_code IS NULL), '{{}}'),
                   count(*) FILTER (WHERE s.sector_code IS NOT NULL AND (s.foreign_flow IS NULL
                       OR s.institution_flow IS NULL OR s.individual_flow IS NULL OR s.market_cap IS NULL))
              FROM expected e LEFT JOIN sector_rotation s USING (time, sector_code)
             GROUP BY e.time""",
        {"days": list(days)},
    ).fetchall()
    found = {day: SectorFlowDay(n, tuple(missing), no_flows) for day, n, missing, no_flows in rows}
    return {day: found.get(day, SectorFlowDay(0, (), 0)) for day in days}


def measure_signals(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, SignalDay]:
    """Per day: sectors with flows, their signals, the active ones, and RRG gaps where history allows."""
    rows = conn.execute(
        """SELECT f.time::date, count(*), count(s.sector_code), count(*) FILTER (WHERE s.signal <> 'NEUTRAL'),
                  count(*) FILTER (WHERE s.sector_code IS NOT NULL
                                     AND (s.rs_ratio IS NULL OR s.rs_momentum IS NULL OR s.quadrant IS NULL)
                                     AND (SELECT count(*) FROM sector_rotation h
                                           WHERE h.sector_code = f.sector_code AND h.time <= f.time)
                                         > %(due)s)
             FROM sector_rotation f LEFT JOIN rotation_signal s USING (sector_code, time)
            WHERE f.time = ANY(%(days)s)
            GROUP BY f.time""",
        {"days": list(days), "due": ROTATION.lookback_days},
    ).fetchall()
    found = {day: SignalDay(*counts) for day, *counts in rows}
    return {day: found.get(day, SignalDay(0, 0, 0, 0)) for day in days}


SECTOR_FLOW_CHECKS: list[DailyCheck[SectorFlowDay]] = [
    DailyCheck(
        "every_sector_present",
        "every KRX sector with priced stocks that day has a sector_rotation row",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (
            day.expected_sectors > 0 and not day.missing_sectors,
            {"sectors": day.expected_sectors, "missing": dg.MetadataValue.json(list(day.missing_sectors))},
        ),
    ),
    DailyCheck(
        "flows_present",
        "foreign / institution / individual flow and market cap are set on every sector row",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (day.rows_without_flows == 0, {"rows_without_flows": day.rows_without_flows}),
    ),
]

SIGNAL_CHECKS: list[DailyCheck[SignalDay]] = [
    DailyCheck(
        "signal_for_every_sector",
        "every sector with a sector_rotation row that day has a rotation signal",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (
            day.sectors > 0 and day.signals == day.sectors,
            {"sectors": day.sectors, "signals": day.signals},
        ),
    ),
    DailyCheck(
        "signal_counts_within_bounds",
        f"INFLOW + OUTFLOW on at most {MAX_ACTIVE_SIGNAL_SHARE:.0%} of the sectors",
        dg.AssetCheckSeverity.WARN,
        lambda day: (
            day.active <= MAX_ACTIVE_SIGNAL_SHARE * day.signals,
            {"active": day.active, "signals": day.signals},
        ),
    ),
    DailyCheck(
        "rrg_present_where_due",
        f"RS-Ratio, RS-Momentum and quadrant set once a sector has {ROTATION.lookback_days}+ days of flows",
        dg.AssetCheckSeverity.ERROR,
        lambda day: (day.rrg_missing_where_due == 0, {"rows_missing_rrg": day.rrg_missing_where_due}),
    ),
]

analytics_checks = [
    build_daily_checks(
        "sector_money_flow", SECTOR_FLOW_CHECKS, measure_sector_flow, "sector_money_flow_table_checks"
    ),
    build_daily_checks("rotation_signal", SIGNAL_CHECKS, measure_signals, "rotation_signal_table_checks"),
]
