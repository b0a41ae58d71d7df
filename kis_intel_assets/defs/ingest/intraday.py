"""Intraday, provisional flows: programme trading per watched stock and the foreign / institution 가집계.

Final investor and programme data exist only after the close (about 15:40 KST), so traders watching the
session need KIS's provisional figures. They land in their own tables, labelled provisional, and the daily
assets mark a day's rows superseded once they have written its final data.
"""

import time
from datetime import datetime
from functools import partial

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
from kis_intel_assets.markets import MARKETS
from kis_intel_assets.storage import fetch_frame

PROGRAM_COLUMNS = [
    "time", "symbol", "price", "volume", "program_buy", "program_sell", "program_net",
    "program_buy_value", "program_sell_value", "program_net_value",
]  # fmt: skip
ESTIMATE_COLUMNS = [
    "time", "symbol", "market", "name", "price", "foreign_net", "foreign_net_value",
    "institution_net", "institution_net_value",
]  # fmt: skip
SESSION_OPEN, SESSION_CLOSE = "0900", "1530"


class IntradayConfig(dg.Config):
    """Which stocks get per-stock programme snapshots: one KIS call each per tick, so a watchlist."""

    symbols: list[str] = ConfigField(default_factory=list, description="watchlist (empty = the largest)")
    top_n_by_market_cap: int = ConfigField(default=30, ge=1, le=500, description="watchlist size when empty")


PROGRAM_TR_ID, ESTIMATES_TR_ID = "FHPPG04650101", "FHPTJ04400000"


def _intraday_spec(table: str, tr_id: str, description: str) -> dg.AssetSpec:
    """A PROVISIONAL intraday table of the ingest group, read for the stocks of the universe."""
    return dg.AssetSpec(
        table,
        description=description,
        metadata={"tr_id": tr_id, **table_metadata(table), "provisional": True},
        group_name="ingest",
        kinds={"postgres"},
        deps=["stock_universe"],
    )


@dg.multi_asset(
    name="intraday_flows",
    specs=[
        _intraday_spec(
            "intraday_program_trading",
            PROGRAM_TR_ID,
            "PROVISIONAL programme buy / sell / net per watched stock through the session "
            f"({PROGRAM_TR_ID}).",
        ),
        _intraday_spec(
            "intraday_investor_estimates",
            ESTIMATES_TR_ID,
            "PROVISIONAL foreign / institution net-buy totals per market, keyed in by brokers "
            f"a few times a day (가집계, {ESTIMATES_TR_ID}).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="intraday_program_trading", blocking=True),
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="intraday_investor_estimates", blocking=True),
        schema_drift_spec("intraday_program_trading"),
        schema_drift_spec("intraday_investor_estimates"),
    ],
    pool="kis_api",
    can_subset=False,  # one snapshot moment for both tables, written in one transaction
)
def intraday_flows(
    context: dg.AssetExecutionContext, config: IntradayConfig, kis: KISResource, database: DatabaseResource
):
    """PROVISIONAL intraday flows, one asset per table, both from the same snapshot. Superseded by the
    final daily assets after the close."""
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
) -> list[dg.MaterializeResult]:
    started = time.monotonic()
    day = now.date()
    outcome = fetch_symbols(client, watchlist, lambda c, s: c.program_trade_intraday(s), workers)
    raise_on_fetch_errors("intraday_program_trading", PROGRAM_TR_ID, outcome, len(watchlist), day, day)
    program = pd.concat(outcome.frames, ignore_index=True) if outcome.frames else pd.DataFrame()
    if not program.empty:
        program["time"] = [datetime.combine(day, hour, tzinfo=SEOUL) for hour in program["hour"]]
        program = program[PROGRAM_COLUMNS]
        check_frame(program, schemas.intraday_program_trading(), "intraday_program_trading", PROGRAM_TR_ID)
    estimates = pd.concat(
        [client.foreign_institution_provisional(market) for market in MARKETS], ignore_index=True
    ).assign(time=now.replace(microsecond=0))[ESTIMATE_COLUMNS]
    if not estimates.empty:  # brokers key in 가집계 a few times a day: none yet early in the session
        check_frame(
            estimates, schemas.intraday_investor_estimates(), "intraday_investor_estimates", ESTIMATES_TR_ID
        )
    written = write_frames(
        context,
        database,
        [
            ("intraday_program_trading", program),
            ("intraday_investor_estimates", estimates),
        ],
    )
    snapshot = {"provisional": True, "snapshot": now.isoformat(timespec="seconds")}
    run_result = partial(materialize_result, client=client, started=started, start=day, end=day)
    return [
        run_result(
            program,
            rows_written=written["intraday_program_trading"],
            symbols=len(watchlist),
            extra=snapshot,
            asset_key="intraday_program_trading",
            drift_tr_ids=[PROGRAM_TR_ID],
        ),
        run_result(
            estimates,
            rows_written=written["intraday_investor_estimates"],
            symbols=int(estimates["symbol"].nunique()),
            extra={**snapshot, "markets": int(estimates["market"].nunique())},
            asset_key="intraday_investor_estimates",
            drift_tr_ids=[ESTIMATES_TR_ID],
        ),
    ]


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
