"""When KRX is read: 18:10 KST on trading days, once the portal's investor tables are final (18:00), for
that day's investor flows and for the short-selling balance of three trading days earlier, which the
portal publishes on the morning of T+3 (plus any of the four published days before it that a failed run
left unwritten). Stopped by default like the other schedules that call a source; it skips every tick
while KRX is not configured.
"""

from datetime import date, datetime

import dagster as dg

from kis_intel_assets import settings
from kis_intel_assets.defs.krx.assets import krx_investor_flows, short_balance
from kis_intel_assets.defs.krx.resources import KRX_OFF
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.krx.credentials import KRXCredentials
from kis_intel_assets.krx.publication import BALANCE_LAG_TRADING_DAYS
from kis_intel_assets.krx_calendar import is_trading_day, previous_trading_day

KRX_CRON = "10 18 * * 1-5"

krx_daily_job = dg.define_asset_job(
    "krx_daily",
    selection=dg.AssetSelection.assets(short_balance, krx_investor_flows),
    config={"execution": {"config": {"in_process": {}}}},
)


def flows_from_krx() -> bool:
    """KIS_INTEL_FLOWS_SOURCE=krx: investor_trends comes from KRX (read when the definitions load)."""
    return settings.flows_source() == "krx"


# Published balance days the schedule looks back over for days a failed run left unwritten.
CATCH_UP_DAYS = 5


def balance_days(today: date) -> list[date]:
    """The newest trading day whose short balance is published by today's morning (T+3) and the
    CATCH_UP_DAYS - 1 published before it, newest first."""
    day, days = today, []
    for _ in range(BALANCE_LAG_TRADING_DAYS):
        day = previous_trading_day(day)
    for _ in range(CATCH_UP_DAYS):
        days.append(day)
        day = previous_trading_day(day)
    return days


@dg.schedule(job=krx_daily_job, cron_schedule=KRX_CRON, execution_timezone="Asia/Seoul")
def krx_daily_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    """Short balance of T−3 (published this morning) and of the four days before it still missing, and
    today's KRX investor flows — unless they run in the daily ingest job because investor_trends comes
    from KRX."""
    scheduled = context.scheduled_execution_time or datetime.now(SEOUL)
    today = scheduled.astimezone(SEOUL).date()
    if not is_trading_day(today):
        return dg.SkipReason(f"{today} is not a KRX trading day")
    if KRXCredentials.from_env() is None:
        return dg.SkipReason(KRX_OFF)
    return krx_requests(today, context.instance.get_materialized_partitions(short_balance.key))


def krx_requests(today: date, written: set[str]) -> list[dg.RunRequest]:
    """The tick's runs, given the short_balance partitions already `written`: T-3, and any of the days
    before it that a failed run (an outage, a block) left unwritten; today's flows unless the daily job
    takes them."""
    newest, *earlier = balance_days(today)
    wanted = [newest, *(day for day in earlier if day.isoformat() not in written)]
    requests = [
        dg.RunRequest(
            partition_key=day.isoformat(),
            asset_selection=[short_balance.key],
            run_key=f"krx-balance-{day.isoformat()}-on-{today.isoformat()}",
        )
        for day in wanted
    ]
    if not flows_from_krx():
        requests.append(
            dg.RunRequest(
                partition_key=today.isoformat(),
                asset_selection=[krx_investor_flows.key],
                run_key=f"krx-flows-{today.isoformat()}",
            )
        )
    return requests
