"""Each partition's own figures in a range run.

Dagster copies a range run's result metadata to every partition's materialization, so a 100-day backfill
would stamp the run's total rows on each day (a step function in the plots). This records each day's own
row count as partition-scoped metadata, which takes precedence over the run-wide figure of the same name;
the run's total goes to the run's log.
"""

from datetime import date

import dagster as dg
import pandas as pd


def rows_per_partition(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, asset_key: str | None = None
) -> None:
    if not (context.has_partition_key or context.has_partition_key_range):
        return  # the asset body called without a partition (as the resumable-backfill test does)
    days = pd.to_datetime(frame["time"]).dt.date if not frame.empty else pd.Series(dtype=object)
    counts = days.value_counts().to_dict()
    keys = context.partition_keys
    for key in keys:
        rows = int(counts.get(date.fromisoformat(key), 0))
        context.add_asset_metadata(
            {"rows": rows, "dagster/row_count": rows}, asset_key=asset_key, partition_key=key
        )
    if len(keys) > 1:
        context.log.info(
            f"{asset_key or context.asset_key.to_user_string()}: {len(frame)} rows over {len(keys)} days"
        )
