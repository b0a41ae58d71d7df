"""Official 공매도 과열종목 designations from the KIS master files, and the check of our own detection.

Partition D holds the stocks banned from short selling on ban day D (KRX designated them after the close
of the previous trading day), read from the ssts_hot_yn flag of both master files. A master file is a
snapshot of one day: the files downloaded at a KST time describe kis.masters.master_file_day of it (KIS's
clock, from the download's Date header), so a partition can be materialized only on its own day (from
08:00 KST until the next trading day's 08:00); a backfill of past days is refused, never written empty.

The check compares, per ban day, the official list with the short_overheat asset's detection (the stocks
whose computed ban covers that day) and lists every difference, WARN: the product's rule is a
reconstruction of KRX's, so a difference is worth a look rather than a stop.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd
import psycopg

from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest.assets import DAILY_KIS_ASSET
from kis_intel_assets.defs.partition_checks import DailyCheck, build_daily_checks
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.partitions import partition_dates
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.defs.tables import table_metadata
from kis_intel_assets.storage import upsert_frame

TABLE = "short_overheat_designations"
SOURCE = "KIS_MASTER"
OFFICIAL_ONLY, DETECTED_ONLY = "official only", "detected only"


@dg.asset(
    name=TABLE,
    metadata={"source": "KIS master files, field ssts_hot_yn", **table_metadata(TABLE)},
    **DAILY_KIS_ASSET,
)
def short_overheat_designations(
    context: dg.AssetExecutionContext, kis: KISResource, database: DatabaseResource
) -> dg.MaterializeResult:
    """공매도 과열종목: the stocks KRX bans from short selling on the partition's day, as the day's KIS master
    files flag them. Only the current day can be ingested: the files keep no history."""
    started = time.monotonic()
    start, end = partition_dates(context)
    with kis.client() as client:
        file_day, flagged = client.short_overheat_designations()
    if (start, end) != (file_day, file_day):
        asked = start.isoformat() if start == end else f"{start}..{end}"
        raise deterministic_failure(
            f"{TABLE}: the KIS master files downloaded now describe {file_day} only (a file is one day's "
            f"snapshot, regenerated before each open); {asked} cannot be ingested from them. Materialize "
            "the partition of the current trading day; past days are not available from KIS."
        )
    rows = pd.DataFrame(
        {"time": file_day, "symbol": sorted(flagged["symbol"]), "source": SOURCE},
        columns=["time", "symbol", "source"],
    )
    with database.connection() as conn, conn.transaction():
        conn.execute(f"DELETE FROM {TABLE} WHERE time = %s", (file_day,))  # the day's list replaces it
        written = upsert_frame(conn, TABLE, rows)
    rows_per_partition(context, rows)
    return dg.MaterializeResult(
        metadata={
            "designations": written,
            "by_market": dg.MetadataValue.json(
                {str(market): int(n) for market, n in flagged["market"].value_counts().sort_index().items()}
            ),
            "symbols": dg.MetadataValue.json(rows["symbol"].tolist()),
            "seconds": round(time.monotonic() - started, 2),
        }
    )


@dataclass(frozen=True)
class OverheatDay:
    official: frozenset[str]  # the official list, restricted to the stocks the product follows
    detected: frozenset[str]
    outside_universe: int  # official designations of stocks stock_master does not follow

    def differences(self) -> list[dict[str, str]]:
        return [
            {"symbol": symbol, "difference": OFFICIAL_ONLY if symbol in self.official else DETECTED_ONLY}
            for symbol in sorted(self.official ^ self.detected)
        ]


def measure_overheat(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, OverheatDay]:
    """Per ban day: the official list and the stocks whose detected ban (short_overheat) covers the day."""
    official = conn.execute(
        f"""SELECT o.time, o.symbol, EXISTS (SELECT 1 FROM stock_master m WHERE m.symbol = o.symbol)
              FROM {TABLE} o WHERE o.time = ANY(%(days)s)""",
        {"days": list(days)},
    ).fetchall()
    detected = conn.execute(
        """SELECT DISTINCT d.day, o.symbol FROM unnest(%(days)s::date[]) AS d(day)
             JOIN short_overheat o ON o.ban_start <= d.day AND d.day <= o.ban_date""",
        {"days": list(days)},
    ).fetchall()
    return {
        day: OverheatDay(
            frozenset(symbol for time_, symbol, followed in official if time_ == day and followed),
            frozenset(symbol for time_, symbol in detected if time_ == day),
            sum(time_ == day and not followed for time_, _, followed in official),
        )
        for day in days
    }


def _evaluate(day: OverheatDay) -> tuple[bool, Mapping[str, object]]:
    differences = day.differences()
    return not differences, {
        "official": len(day.official),
        "detected": len(day.detected),
        "official_outside_universe": day.outside_universe,
        "differences": dg.MetadataValue.json(differences),
        "difference_count": len(differences),
    }


OVERHEAT_CHECKS: list[DailyCheck[OverheatDay]] = [
    DailyCheck(
        "detection_matches_official",
        "the stocks our short_overheat detection bans on the day are exactly the official 공매도 과열종목 "
        "list (master-file flag); differences are listed as 'official only' / 'detected only'",
        dg.AssetCheckSeverity.WARN,
        _evaluate,
    )
]

overheat_designation_checks = [
    build_daily_checks(TABLE, OVERHEAT_CHECKS, measure_overheat, "short_overheat_designation_checks")
]
