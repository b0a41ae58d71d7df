"""Intraday, provisional flows: programme trading per watched stock and the foreign / institution 가집계.

Final investor and programme data exist only after the close (about 15:40 KST), so traders watching the
session need KIS's provisional figures. They land in their own tables, labelled provisional, and the daily
assets mark a day's rows superseded once they have written its final data.
"""

import time
from datetime import datetime

import dagster as dg
import pandas as pd
from pydantic import Field as ConfigField

from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest import schemas
from kis_intel_assets.defs.ingest.collect import (
    SCHEMA_CHECK,
    check_frame,
    fetch_symbols,
    materialize_result,
    raise_on_fetch_errors,
    reporting_rejections,
    write_frames,
)
from kis_intel_assets.defs.ingest.drift import schema_drift_spec
from kis_intel_assets.defs.ingest.universe import listed_symbols
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.defs.tables import table_metadata
from kis_intel_assets.kis import KISClient
from kis_intel_assets.krx_calendar import is_trading_day
from kis_intel_assets.storage import fetch_frame

MARKETS = ("KOSPI", "KOSDAQ")
PROGRAM_COLUMNS = [
    "time", "symbol", "price", "volume", "program_buy_qty", "program_sell_qty", "program_net_qty",
    "program_buy_value", "program_sell_value", "program_net_value",
]  # fmt: skip
ESTIMATE_COLUMNS = [
    "time", "symbol", "market", "name", "price", "foreign_net_qty", "foreign_net_value",
    "institution_net_qty", "institution_net_value",
]  # fmt: skip
SESSION_OPEN, SESSION_CLOSE = "0900", "1530"
# The daily tables whose final rows supersede each provisional table.
SUPERSEDED_BY = {
    "program_trading": "intraday_program_trading",
    "investor_trends": "intraday_investor_estimates",
}


class IntradayConfig(dg.Config):
    """Which stocks get per-stock programme snapshots: one KIS call each per tick, so a watchlist."""

    symbols: list[str] = ConfigField(default_factory=list, description="watchlist (empty = the largest)")
    top_n_by_market_cap: int = ConfigField(default=30, ge=1, le=500, description="watchlist size when empty")


@dg.asset(
    group_name="ingest",
    pool="kis_api",
    kinds={"postgres"},
    deps=["stock_universe"],
    metadata={
        **table_metadata("intraday_program_trading", "intraday_investor_estimates"),
        "provisional": True,
    },
    check_specs=[
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="intraday_flows", blocking=True),
        schema_drift_spec("intraday_flows"),
    ],
)
def intraday_flows(
    context: dg.AssetExecutionContext, config: IntradayConfig, kis: KISResource, database: DatabaseResource
):
    """PROVISIONAL intraday flows: programme buy/sell/net per watched stock through the session
    (FHPPG04650101) and KIS's provisional foreign / institution net-buy totals per market (FHPTJ04400000,
    keyed in by brokers a few times a day). Superseded by the final daily assets after the close."""
    now = datetime.now(SEOUL)
    with database.connection() as conn:
        watchlist = config.symbols or _largest(conn, config.top_n_by_market_cap)
    with kis.client() as client:
        yield from reporting_rejections(
            context, lambda: _snapshot(context, client, database, watchlist, now, kis.fetch_workers)
        )


def _largest(conn, n: int) -> list[str]:
    listed = set(listed_symbols(conn))
    caps = fetch_frame(
        conn,
        """SELECT DISTINCT ON (p.symbol) p.symbol, p.close * m.listed_shares AS market_cap
             FROM daily_prices p JOIN stock_master m USING (symbol)
            ORDER BY p.symbol, p.time DESC, m.valid_from DESC""",
    )
    caps = caps[caps["symbol"].isin(listed)]
    if caps.empty:
        raise deterministic_failure(
            "no daily_prices yet to pick a watchlist from: set `symbols` in the config"
        )
    return sorted(caps.nlargest(n, "market_cap")["symbol"])


def _snapshot(
    context: dg.AssetExecutionContext,
    client: KISClient,
    database: DatabaseResource,
    watchlist: list[str],
    now: datetime,
    workers: int,
) -> dg.MaterializeResult:
    started = time.monotonic()
    day = now.date()
    outcome = fetch_symbols(client, watchlist, lambda c, s: c.program_trade_intraday(s), workers)
    raise_on_fetch_errors("intraday_program_trading", "FHPPG04650101", outcome, len(watchlist), day, day)
    program = pd.concat(outcome.frames, ignore_index=True) if outcome.frames else pd.DataFrame()
    if not program.empty:
        program["time"] = [datetime.combine(day, hour, tzinfo=SEOUL) for hour in program["hour"]]
        program = program[PROGRAM_COLUMNS]
        check_frame(program, schemas.intraday_program_trading(), "intraday_program_trading", "FHPPG04650101")
    estimates = pd.concat(
        [client.foreign_institution_provisional(market) for market in MARKETS], ignore_index=True
    ).assign(time=now.replace(microsecond=0))[ESTIMATE_COLUMNS]
    written = write_frames(
        context,
        database,
        [
            ("intraday_program_trading", program, ("symbol", "time")),
            ("intraday_investor_estimates", estimates, ("symbol", "time")),
        ],
    )
    return materialize_result(
        program if not program.empty else estimates,
        rows_written=written,
        symbols=len(watchlist),
        client=client,
        started=started,
        start=day,
        end=day,
        extra={
            "estimate_rows": len(estimates),
            "provisional": True,
            "snapshot": now.isoformat(timespec="seconds"),
        },
    )


intraday_job = dg.define_asset_job("intraday_flows_job", selection=[intraday_flows])


@dg.schedule(job=intraday_job, cron_schedule="* 9-15 * * 1-5", execution_timezone="Asia/Seoul")
def intraday_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Every minute of the KRX session (09:00–15:30 KST) on trading days."""
    moment = (context.scheduled_execution_time or datetime.now(SEOUL)).astimezone(SEOUL)
    if not is_trading_day(moment.date()):
        return dg.SkipReason(f"{moment.date()} is not a KRX trading day")
    if not SESSION_OPEN <= moment.strftime("%H%M") <= SESSION_CLOSE:
        return dg.SkipReason(f"{moment:%H:%M} KST is outside the session {SESSION_OPEN}-{SESSION_CLOSE}")
    return dg.RunRequest(run_key=f"intraday-{moment:%Y%m%d%H%M}")
