"""Ingestion assets: KIS → validated frames → PostgreSQL, one trading day per partition.

Every asset that calls KIS shares the `kis_api` pool so concurrent runs queue instead of competing for
the per-key request budget, and uses a single-run backfill policy: a backfill over many days becomes
one run that asks KIS for date ranges, which costs about ceil(days / rows-per-page) calls per symbol
instead of one call per symbol per day.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field as ConfigField

from kis_intel_assets.defs.automation import DAILY_FRESHNESS
from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest import schemas
from kis_intel_assets.defs.ingest.collect import (
    SCHEMA_CHECK,
    SymbolDataset,
    availability_metadata,
    check_frame,
    fetch_dataset,
    fetch_symbols,
    ingest_symbol_dataset,
    materialize_result,
    raise_on_fetch_errors,
    reporting_rejections,
    unavailable_days,
    write_frames,
)
from kis_intel_assets.defs.ingest.drift import schema_drift_spec
from kis_intel_assets.defs.ingest.sources import sources_result, sources_spec
from kis_intel_assets.defs.ingest.universe import latest_master_rows, listed_symbols, master_updates
from kis_intel_assets.defs.krx.fast_path import krx_investor_trends, uses_fast_path
from kis_intel_assets.defs.krx.resources import say_krx_off
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.partitions import SEOUL, partition_dates, trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.defs.tables import table_metadata
from kis_intel_assets.kis import KISClient
from kis_intel_assets.kiwoom.routing import ROUTED_DATASETS
from kis_intel_assets.krx_calendar import calendar_bounds
from kis_intel_assets.markets import MARKETS
from kis_intel_assets.storage.fetch_cache import FetchCache

KIS_POOL = "kis_api"
GROUP = "ingest"


class UniverseConfig(dg.Config):
    """Which stocks to follow; by default every listed common stock of KOSPI and KOSDAQ."""

    symbols: list[str] = ConfigField(default_factory=list, description="only these codes (empty = all)")
    top_n_by_market_cap: int = ConfigField(default=0, ge=0, description="only the N largest (0 = all)")


@dg.asset(
    group_name=GROUP,
    pool=KIS_POOL,
    kinds={"postgres"},
    check_specs=[
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="stock_universe", blocking=True),
        schema_drift_spec("stock_universe"),
    ],
    metadata=table_metadata("stock_master"),
)
def stock_universe(
    context: dg.AssetExecutionContext, config: UniverseConfig, kis: KISResource, database: DatabaseResource
) -> Iterator[dg.AssetCheckEvaluation | dg.MaterializeResult]:
    """Listed common stocks with name, market, KRX 업종 sector and listed shares, kept point in time.

    Listing comes from the KIS master files, classification from 주식기본조회 (CTPF1002R) per stock. A
    sector change opens a new stock_master row, so analytics use the sector a stock had on each day.
    """
    as_of = datetime.now(SEOUL).date()
    with kis.client() as client:
        yield from reporting_rejections(
            context, lambda: _refresh_universe(context, config, client, database, as_of, kis.fetch_workers)
        )


def _refresh_universe(
    context: dg.AssetExecutionContext,
    config: UniverseConfig,
    client: KISClient,
    database: DatabaseResource,
    as_of: date,
    workers: int,
) -> dg.MaterializeResult:
    started = time.monotonic()
    listing = client.list_common_stocks()
    symbols = sorted(listing["symbol"])
    if config.symbols:
        unknown = sorted(set(config.symbols) - set(symbols))
        if unknown:
            raise deterministic_failure(f"stock_universe: symbols not listed as common stocks: {unknown}")
        symbols = sorted(config.symbols)
    if config.top_n_by_market_cap:
        symbols = _largest(client, symbols, config.top_n_by_market_cap, as_of, workers)
    outcome = fetch_symbols(client, symbols, lambda c, s: pd.DataFrame([asdict(c.stock_info(s))]), workers)
    raise_on_fetch_errors("stock_master", "CTPF1002R", outcome, len(symbols), as_of, as_of)
    observed = pd.concat(outcome.frames, ignore_index=True)
    with database.connection() as conn:
        latest = latest_master_rows(conn)
    updates = master_updates(latest, observed, as_of, calendar_bounds()[0])
    check_frame(updates, schemas.stock_master(), "stock_master", "CTPF1002R")
    (written,) = write_frames(context, database, [("stock_master", updates)]).values()
    known = set(zip(latest["symbol"], latest["valid_from"], strict=True))
    opened = sum(key not in known for key in zip(updates["symbol"], updates["valid_from"], strict=True))
    return materialize_result(
        updates,
        rows_written=written,
        symbols=len(updates),
        client=client,
        started=started,
        start=as_of,
        end=as_of,
        extra={"new_or_changed": opened, "sectors": int(updates["sector_code"].nunique())},
    )


def _largest(client: KISClient, symbols: list[str], n: int, as_of: date, workers: int) -> list[str]:
    """The n largest stocks by market cap (시가총액 from 주식현재가 시세, FHKST01010100)."""
    outcome = fetch_symbols(
        client,
        symbols,
        lambda c, s: pd.DataFrame([{"symbol": s, "market_cap": c.current_price(s)["market_cap_100m"]}]),
        workers,
    )
    raise_on_fetch_errors("stock_master", "FHKST01010100", outcome, len(symbols), as_of, as_of)
    caps = pd.concat(outcome.frames, ignore_index=True)
    return sorted(caps.nlargest(n, "market_cap")["symbol"])


# What every daily asset fed by KIS stock by stock shares: one run per backfill, the KIS pool, one retry
# (a second attempt re-asks only what is missing) and the daily schedule's freshness.
DAILY_KIS_ASSET: dict[str, Any] = {
    "group_name": GROUP,
    "partitions_def": trading_day_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": KIS_POOL,
    "kinds": {"postgres"},
    "deps": [stock_universe],
    "retry_policy": dg.RetryPolicy(max_retries=1, delay=30),
    "freshness_policy": DAILY_FRESHNESS,
}


def _symbols(database: DatabaseResource, start: date) -> list[str]:
    with database.connection() as conn:
        symbols = listed_symbols(conn, start)
    if not symbols:
        raise deterministic_failure("stock_master is empty: materialize stock_universe first")
    return symbols


def _symbol_asset(
    dataset: SymbolDataset, description: str, reads: Sequence[dg.AssetsDefinition] = ()
) -> dg.AssetsDefinition:
    """A daily per-symbol ingestion asset; the datasets differ only in endpoint, table and schema. One
    Kiwoom can serve too (ROUTED_DATASETS) also reports the sources_agree check. `reads`: stored tables
    its run reads, so the graph (and a run's step order) has them first."""
    routed_too = dataset.table in ROUTED_DATASETS
    settings = {**DAILY_KIS_ASSET, "deps": [*DAILY_KIS_ASSET["deps"], *reads]}

    @dg.asset(
        name=dataset.table,
        description=description,
        check_specs=[
            dg.AssetCheckSpec(SCHEMA_CHECK, asset=dataset.table, blocking=True),
            schema_drift_spec(dataset.table),
            *([sources_spec(dataset.table)] if routed_too else []),
        ],
        metadata={"tr_id": dataset.tr_id, **table_metadata(dataset.table)},
        **settings,
    )
    def _asset(context: dg.AssetExecutionContext, kis: KISResource, database: DatabaseResource):
        start, end = partition_dates(context)
        symbols = _symbols(database, start)
        if dataset.table == "short_selling" and not (kis.krx and kis.krx.configured):
            say_krx_off(context.log)  # the balance columns stay NULL: lending data is the proxy
        ingest = (
            partial(krx_investor_trends, krx=kis.krx)
            if dataset.table == "investor_trends" and uses_fast_path(kis.krx)
            else ingest_symbol_dataset
        )
        with kis.client() as client:
            yield from reporting_rejections(
                context,
                lambda: ingest(context, client, database, dataset, symbols, start, end, kis.fetch_workers),
            )
            if routed_too:
                yield sources_result(client, dataset.table, start, end)

    return _asset


DAILY_PRICES = SymbolDataset(
    "daily_prices",
    "FHKST03010100",
    schemas.daily_prices,
    fetcher=lambda kis: kis.daily_prices,
    previous_day=True,
)
INVESTOR_TRENDS = SymbolDataset(
    "investor_trends", "FHPTJ04160001", schemas.investor_trends, fetcher=lambda kis: kis.investor_trends
)
SHORT_SELLING = SymbolDataset(
    "short_selling", "FHPST04830000", schemas.short_selling, fetcher=lambda kis: kis.short_selling
)
PROGRAM_TRADING = SymbolDataset(
    "program_trading", "FHPPG04650201", schemas.program_trading, fetcher=lambda kis: kis.program_trading
)

daily_prices = _symbol_asset(
    DAILY_PRICES,
    "Daily OHLCV and trading value per stock from 국내주식기간별시세 (FHKST03010100), 100 days per call.",
)
investor_trends = _symbol_asset(
    INVESTOR_TRENDS,
    "Who bought and sold each stock each day — foreign, institution (and its sub-groups), retail (개인) and "
    "other corporations, shares (RFC-010's foreign_buy, …) and KRW value (foreign_buy_value, …) — from "
    "종목별 투자자매매동향(일별) (FHPTJ04160001).",
)
short_selling = _symbol_asset(
    SHORT_SELLING,
    "Short-sale volume, value and their share of the day's trading from 공매도 일별추이 (FHPST04830000). "
    "KIS has no short-balance endpoint: the balance columns stay NULL unless the optional KRX source's "
    "short_balance fills them.",
    # Kiwoom's rows (source kiwoom/both) take the day's trading value from the stored daily_prices.
    reads=[daily_prices],
)


PROGRAM_MARKET_TR_ID = "FHPPG04600001"


# Both tables are one fetch and one transaction, so Dagster runs them together (can_subset=False):
# select `program_trading,program_trading_market`, or either one with `required_multi_asset_neighbors()`.
def _program_spec(table: str, tr_id: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        table,
        description=description,
        metadata={"tr_id": tr_id, **table_metadata(table)},
        group_name=GROUP,
        kinds={"postgres"},
        deps=[stock_universe],
        freshness_policy=DAILY_FRESHNESS,
    )


@dg.multi_asset(
    name="program_trading",
    specs=[
        _program_spec(
            "program_trading",
            PROGRAM_TRADING.tr_id,
            "Programme buy / sell / net per stock and day (FHPPG04650201).",
        ),
        _program_spec(
            "program_trading_market",
            PROGRAM_MARKET_TR_ID,
            "Programme trading per market and day: arbitrage (차익), non-arbitrage (비차익) "
            "and their total (FHPPG04600001).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="program_trading", blocking=True),
        dg.AssetCheckSpec(SCHEMA_CHECK, asset="program_trading_market", blocking=True),
        schema_drift_spec("program_trading"),
        schema_drift_spec("program_trading_market"),
        sources_spec("program_trading"),
    ],
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=KIS_POOL,
    retry_policy=dg.RetryPolicy(max_retries=1, delay=30),
    can_subset=False,
)
def program_trading(context: dg.AssetExecutionContext, kis: KISResource, database: DatabaseResource):
    """Program trading per stock and, per market, the arbitrage / non-arbitrage split: fetched in one run
    and written in one transaction, one materialization per table."""
    start, end = partition_dates(context)
    symbols = _symbols(database, start)
    with kis.client() as client:
        yield from reporting_rejections(
            context,
            lambda: _program_trading(context, client, database, symbols, start, end, kis.fetch_workers),
        )


def _program_trading(
    context: dg.AssetExecutionContext,
    client: KISClient,
    database: DatabaseResource,
    symbols: list[str],
    start: date,
    end: date,
    workers: int,
) -> list[dg.MaterializeResult]:
    started = time.monotonic()
    with FetchCache(database.resolved_url, PROGRAM_TRADING.table, start, end) as cache:
        per_stock = fetch_dataset(client, PROGRAM_TRADING, symbols, start, end, workers, cache)
        per_market = pd.concat(
            [client.program_trading_market(m, start, end) for m in MARKETS], ignore_index=True
        )
        if not per_market.empty:
            check_frame(
                per_market,
                schemas.program_trading_market(start, end),
                "program_trading_market",
                PROGRAM_MARKET_TR_ID,
            )
        unavailable = {
            "program_trading": unavailable_days(client, PROGRAM_TRADING.tr_id, start, end),
            "program_trading_market": unavailable_days(client, PROGRAM_MARKET_TR_ID, start, end),
        }
        written = write_frames(
            context,
            database,
            [
                ("program_trading", per_stock),
                ("program_trading_market", per_market),
            ],
            final_for=(start, end),
            unavailable=unavailable,
            fetched=[cache],
        )
    rows_per_partition(context, per_stock, "program_trading")
    rows_per_partition(context, per_market, "program_trading_market")
    run_result = partial(materialize_result, client=client, started=started, start=start, end=end)
    return [
        run_result(
            per_stock,
            rows_written=written["program_trading"],
            symbols=len(symbols),
            extra={
                "symbols_from_earlier_run": cache.reused,
                **availability_metadata({"program_trading": unavailable["program_trading"]}),
            },
            checks=[sources_result(client, "program_trading", start, end)],
            asset_key="program_trading",
        ),
        run_result(
            per_market,
            rows_written=written["program_trading_market"],
            symbols=0,
            extra={
                "markets": int(per_market["market"].nunique()) if not per_market.empty else 0,
                **availability_metadata({"program_trading_market": unavailable["program_trading_market"]}),
            },
            asset_key="program_trading_market",
            drift_tr_ids=[PROGRAM_MARKET_TR_ID],
        ),
    ]
