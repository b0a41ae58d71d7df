"""When ingestion runs: the universe before the open, the day's data once KRX has published it."""

from datetime import datetime

import dagster as dg

from kis_intel_assets.defs.ingest.assets import daily_prices, investor_trends, program_trading, short_selling
from kis_intel_assets.defs.ingest.lending import DAYS_LATE, stock_lending
from kis_intel_assets.defs.ingest.overheat_designations import short_overheat_designations
from kis_intel_assets.defs.krx.assets import krx_investor_flows
from kis_intel_assets.defs.krx.schedules import KRX_CRON, flows_from_krx
from kis_intel_assets.defs.partitions import SEOUL, trading_day_partitions
from kis_intel_assets.krx_calendar import is_trading_day, previous_trading_day

universe_job = dg.define_asset_job("stock_universe_refresh", selection=["stock_universe"])
# One process for the day's run: the steps queue on the kis_api pool one at a time anyway, so a process per
# step would only add its start-up (seconds per step) to the chain that ends in the day's alerts.
# With investor_trends from KRX (KIS_INTEL_FLOWS_SOURCE=krx) the day's run also takes KRX's flows, so the
# reconciliation check compares them in the same run, and starts after KRX's tables are final (18:00).
FLOWS_FROM_KRX = flows_from_krx()
DAILY_CRON = KRX_CRON if FLOWS_FROM_KRX else "40 16 * * 1-5"
# The day's own data, and the day's official 공매도 과열종목 list (the master files are today's by then,
# kis/masters.py).
ON_THE_DAY = (
    daily_prices,
    investor_trends,
    short_selling,
    program_trading,
    short_overheat_designations,
    *([krx_investor_flows] if FLOWS_FROM_KRX else []),
)
# Published up to a trading day late (lending: the same evening or the next day), so the day's run asks
# for the trading day before.
LATE = (stock_lending,)
daily_market_data_job = dg.define_asset_job(
    "daily_market_data",
    selection=dg.AssetSelection.assets(*ON_THE_DAY, *LATE),
    config={"execution": {"config": {"in_process": {}}}},
)

universe_schedule = dg.ScheduleDefinition(
    job=universe_job, cron_schedule="0 8 * * 1-5", execution_timezone="Asia/Seoul"
)


@dg.schedule(job=daily_market_data_job, cron_schedule=DAILY_CRON, execution_timezone="Asia/Seoul")
def daily_market_data_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    """16:40 KST: investor data for the day is final only after about 15:40, so this runs well after
    (18:10 when investor_trends comes from KRX, whose tables are final from 18:00); lending data, which may
    come a day late, is asked for the trading day before."""
    scheduled = context.scheduled_execution_time or datetime.now(SEOUL)
    today = scheduled.astimezone(SEOUL).date()
    if not is_trading_day(today):
        return dg.SkipReason(f"{today} is not a KRX trading day")
    requests = [
        dg.RunRequest(
            partition_key=today.isoformat(),
            run_key=f"daily-{today.isoformat()}",
            asset_selection=[key for asset in ON_THE_DAY for key in asset.keys],
        )
    ]
    late = today
    for _ in range(DAYS_LATE):
        late = previous_trading_day(late)
    if trading_day_partitions.has_partition_key(late.isoformat()):
        requests.append(
            dg.RunRequest(
                partition_key=late.isoformat(),
                run_key=f"late-{late.isoformat()}",
                asset_selection=[key for asset in LATE for key in asset.keys],
            )
        )
    return requests
