"""KRX data-portal assets: short-selling balance (공매도 잔고) and whole-market investor flows.

Both are optional: without KRX credentials they are skipped (no request, no materialization, one line per
process saying so), so a run that selects them still succeeds. With credentials every request goes
through the client's publication gates and circuit breaker (kis_intel_assets/krx): a day KRX has not
published yet (balance: before the morning of T+3) fails the run clearly and writes nothing, and a block
stops it without retrying. A run writes its whole window in one transaction or nothing, like the KIS
assets; the stocks kept are those the universe follows.
"""

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest.assets import short_selling
from kis_intel_assets.defs.ingest.collect import PREVIEW_ROWS, RejectedData, check_frame, write_frames
from kis_intel_assets.defs.krx import schemas
from kis_intel_assets.defs.krx.fetch import fetch_days, fetch_investor_flows, followed
from kis_intel_assets.defs.krx.resources import KRXResource, say_krx_off
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.partitions import partition_dates, trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.defs.tables import table_metadata
from kis_intel_assets.krx import KRXClient
from kis_intel_assets.krx.portal import BALANCE_BLD
from kis_intel_assets.krx_calendar import trading_days

KRX_POOL = "krx_portal"
GROUP = "krx"  # optional source: apart from ingest, whose tables have freshness policies


def krx_result(
    frame: pd.DataFrame,
    written: int,
    client: KRXClient,
    started: float,
    start: date,
    end: date,
    **extra: Any,  # more metadata values (Dagster checks them)
) -> dg.MaterializeResult:
    """The run's figures (KRX requests by bld code included) and the passed schema check."""
    return dg.MaterializeResult(
        metadata={
            "rows": written,
            "symbols": int(frame["symbol"].nunique()) if not frame.empty else 0,
            "window": f"{start.isoformat()}..{end.isoformat()}",
            "source": "KRX",
            "krx_requests": client.request_count,
            "krx_requests_by_bld": dg.MetadataValue.json(dict(client.requests)),
            "seconds": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False)),
            **extra,
        },
    )


def when_configured(
    context: dg.AssetExecutionContext, krx: KRXResource, body: Callable[[date, date], dg.MaterializeResult]
) -> Iterator[dg.MaterializeResult]:
    """A KRX asset's run: skipped, said once per process, while KRX is off; else `body` over the partition
    range, where data KRX served wrong (a bad field, a broken identity) fails the step without its retry,
    with the schema failure cases in the failure's metadata, and nothing is written."""
    if not krx.configured:
        say_krx_off(context.log)
        return
    try:
        yield body(*partition_dates(context))
    except RejectedData as rejected:
        raise deterministic_failure(
            rejected.check.description or "rejected", metadata=dict(rejected.check.metadata)
        ) from None


KRXRun = Callable[[dg.AssetExecutionContext, KRXResource, DatabaseResource, date, date], dg.MaterializeResult]


def krx_asset(
    table: str, deps: list[dg.AssetsDefinition], description: str, run: KRXRun
) -> dg.AssetsDefinition:
    """The asset writing `table`: `run` over the partition range when KRX is configured (when_configured),
    with the settings every KRX asset shares."""

    @dg.asset(
        name=table,
        description=description,
        group_name=GROUP,
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=KRX_POOL,
        kinds={"postgres"},
        deps=deps,
        # Skipped (not materialized) when KRX is not configured, so no in-asset check either: rejected
        # data fails the step with the failure cases (when_configured()).
        output_required=False,
        retry_policy=dg.RetryPolicy(max_retries=1, delay=60),
        metadata=table_metadata(table),
    )
    def krx_table(
        context: dg.AssetExecutionContext, krx: KRXResource, database: DatabaseResource
    ) -> Iterator[dg.MaterializeResult]:
        yield from when_configured(context, krx, lambda start, end: run(context, krx, database, start, end))

    return krx_table


def _short_balance(
    context: dg.AssetExecutionContext, krx: KRXResource, database: DatabaseResource, start: date, end: date
) -> dg.MaterializeResult:
    started = time.monotonic()
    with krx.client(database.resolved_url) as client:
        frame = fetch_days(client.short_balance, "short_balance", BALANCE_BLD, trading_days(start, end))
    frame = followed(database, frame, start)
    if frame.empty:
        raise deterministic_failure(f"KRX {BALANCE_BLD} → short_balance: no rows for {start}..{end}")
    # KRX's own ratio where it gives one, else the same figure from its balance and listed shares.
    computed = (100 * frame["balance_volume"] / frame["listed_shares"]).round(2)
    frame["balance_ratio"] = frame["balance_ratio"].astype(float).fillna(computed)
    check_frame(frame, schemas.short_balance(start, end), "short_balance", BALANCE_BLD)
    written = write_frames(context, database, [("short_balance", frame)], final_for=(start, end))
    rows_per_partition(context, frame)
    return krx_result(frame, written["short_balance"], client, started, start, end)


def _investor_flows(
    context: dg.AssetExecutionContext, krx: KRXResource, database: DatabaseResource, start: date, end: date
) -> dg.MaterializeResult:
    started = time.monotonic()
    frame, client = fetch_investor_flows(krx, database, start, end)
    written = write_frames(context, database, [("krx_investor_flows", frame)])
    rows_per_partition(context, frame)
    return krx_result(
        frame,
        written["krx_investor_flows"],
        client,
        started,
        start,
        end,
        groups=dg.MetadataValue.json(sorted(frame["group"].unique())),
    )


short_balance = krx_asset(
    "short_balance",
    [short_selling],  # in a run with both, short_selling first, so its rows get the balance
    "공매도 잔고 per stock and day from KRX (srt/MDCSTAT30501, all stocks of a market per request), "
    "reported T+2 and published from the morning of T+3; also fills short_selling.balance_volume, "
    "balance_amount and balance_ratio for the same stock-days. Optional: needs KRX_ID / KRX_PW.",
    _short_balance,
)
krx_investor_flows = krx_asset(
    "krx_investor_flows",
    [],
    "Buying and selling per stock, day and investor group from KRX's whole-market table "
    "(MDCSTAT02401: every stock for one investor type per request, 12 types × 2 markets = 24 requests "
    "a day), shares and KRW; the second source the investor_flows_agree_with_krx check compares "
    "investor_trends with. Optional: needs KRX_ID / KRX_PW.",
    _investor_flows,
)

krx_assets = [short_balance, krx_investor_flows]
