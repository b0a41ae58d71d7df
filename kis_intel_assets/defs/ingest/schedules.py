"""When ingestion runs: the universe before the open, the day's data once KRX has published it."""

from datetime import datetime

import dagster as dg

from kis_intel_assets.defs.ingest.assets import daily_prices, investor_trends, program_trading, short_selling
from kis_intel_assets.defs.krx.assets import krx_investor_flows
from kis_intel_assets.defs.krx.schedules import KRX_CRON, flows_from_krx
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.krx_calendar import is_trading_day

universe_job = dg.define_asset_job("stock_universe_refresh", selection=["stock_universe"])
# One process for the day's run: the steps queue on the kis_api pool one at a time anyway, so a process per
# step would only add its start-up (seconds per step) to the chain that ends in the day's alerts.
# With investor_trends from KRX (KIS_INTEL_FLOWS_SOURCE=krx) the day's run also takes KRX's flows, so the
# reconciliation check compares them in the same run, and starts after KRX's tables are final (18:00).
FLOWS_FROM_KRX = flows_from_krx()
DAILY_CRON = KRX_CRON if FLOWS_FROM_KRX else "40 16 * * 1-5"
daily_market_data_job = dg.define_asset_job(
    "daily_market_data",
    selection=dg.AssetSelection.assets(
        daily_prices,
        investor_trends,
        short_selling,
        program_trading,
        *([krx_investor_flows] if FLOWS_FROM_KRX else []),
    ),
    config={"execution": {"config": {"in_process": {}}}},
)

universe_schedule = dg.ScheduleDefinition(
    job=universe_job, cron_schedule="0 8 * * 1-5", execution_timezone="Asia/Seoul"
)


@dg.schedule(job=daily_market_data_job, cron_schedule=DAILY_CRON, execution_timezone="Asia/Seoul")
def daily_market_data_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """16:40 KST: investor data for the day is final only after about 15:40, so this runs well after
    (18:10 when investor_trends comes from KRX, whose tables are final from 18:00)."""
    scheduled = context.scheduled_execution_time or datetime.now(SEOUL)
    today = scheduled.astimezone(SEOUL).date()
    if not is_trading_day(today):
        return dg.SkipReason(f"{today} is not a KRX trading day")
    return dg.RunRequest(partition_key=today.isoformat(), run_key=f"daily-{today.isoformat()}")
