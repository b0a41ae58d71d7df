"""Analytics assets, one trading day per partition (ranges in a single run for backfills).

Each asset declares how many earlier partitions it reads through a TimeWindowPartitionMapping, reads that
window from PostgreSQL (never from KIS), computes with kis_intel_assets.analytics over the whole window,
and upserts only the rows of its own partition(s). Because the pure functions are causal, the rows of day
T are the same whether T is computed alone or inside a ten-year recompute.
"""

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import psycopg

from kis_intel_assets import analytics
from kis_intel_assets.analytics.concentrated_buying import ConcentratedBuyingConfig
from kis_intel_assets.analytics.mfi import DEFAULT_PERIOD
from kis_intel_assets.analytics.short_overheat import BASELINE_DAYS
from kis_intel_assets.defs.analytics import reads
from kis_intel_assets.defs.automation import DAILY_ANALYTICS, DAILY_FRESHNESS, WHOLE_HISTORY_ANALYTICS
from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest.assets import daily_prices, investor_trends, short_selling, stock_universe
from kis_intel_assets.defs.ingest.collect import PREVIEW_ROWS
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.partitions import partition_dates, trading_day_partitions
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.defs.tables import table_metadata
from kis_intel_assets.krx_calendar import calendar_bounds, trading_days
from kis_intel_assets.page_links import page_url
from kis_intel_assets.storage import upsert_frame

GROUP = "analytics"
ROTATION = analytics.RotationConfig()
CONCENTRATION = ConcentratedBuyingConfig()
PRICE_COLUMNS = ["time", "symbol", "high", "low", "close", "volume", "trading_value"]
FLOW_COLUMNS = ["time", "symbol", "foreign_net_value", "institution_net_value", "retail_net_value"]
# Days after a designation the calendar must cover so the next-day ban date is known before prices arrive.
BAN_CALENDAR_DAYS = 14


class RotationSignalConfig(dg.Config):
    """Which rotation signal fills `signal`: "auto" (flow-weighted where flows exist, else price-only),
    "flow" (flow-weighted only) or "price" (RRG price-only everywhere). Both are stored either way."""

    method: str = ROTATION.method


def trailing(asset: dg.AssetsDefinition, days: int) -> dg.AssetDep:
    """Depend on `asset` for this partition and the `days` trading days before it."""
    return dg.AssetDep(
        asset,
        partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-days, allow_nonexistent_upstream_partitions=True
        ),
    )


def read_start(context: dg.AssetExecutionContext, upstream: str) -> date:
    """First day of the upstream window the partition mapping asks for."""
    return date.fromisoformat(context.asset_partition_key_range_for_input(upstream).start)


def in_partition(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Only this run's partition(s), with `time` as dates for the date columns."""
    frame = frame.assign(time=pd.to_datetime(frame["time"]).dt.date)
    return frame[(frame["time"] >= start) & (frame["time"] <= end)].reset_index(drop=True)


def require_history(frame: pd.DataFrame, table: str, upstream: str, first: date, end: date) -> None:
    """Fail loudly unless every trading day of the mapped window has rows: a gap would silently bend
    rolling baselines, so the run names the upstream partitions to materialize instead."""
    have = set(pd.to_datetime(frame["time"]).dt.date) if not frame.empty else set()
    expected = trading_days(first, end)
    missing = [day for day in expected if day not in have]
    if missing:
        raise deterministic_failure(
            f"no {table} rows for {len(missing)} of the {len(expected)} trading days this run reads "
            f"({first}..{end}; first missing {missing[0]}): materialize {upstream} for them first"
        )


def stock_panel_inputs(
    database: DatabaseResource, first: date, end: date, flows_optional: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """stock_master, daily_prices and investor_trends for a window, every trading day of it present.

    With flows_optional, a window without any investor_trends row passes (flows stay NaN, so the rotation
    signal falls back to its price-only rule); a window with some flow days missing still fails.
    """
    with database.connection() as conn:
        master = reads.stock_master(conn)
        prices = reads.window(conn, "daily_prices", PRICE_COLUMNS, first, end)
        flows = reads.window(conn, "investor_trends", FLOW_COLUMNS, first, end)
    require_history(prices, "daily_prices", "daily_prices", first, end)
    if not (flows_optional and flows.empty):
        require_history(flows, "investor_trends", "investor_trends", first, end)
    return master, prices, flows


def write(database: DatabaseResource, table: str, frame: pd.DataFrame) -> int:
    with database.connection() as conn:
        return upsert_frame(conn, table, frame)


def written_result(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    table: str,
    frame: pd.DataFrame,
    started: float,
    rows_label: str = "rows",
    **metadata: "dg.RawMetadataValue",  # a typing-only name in dagster
) -> dg.MaterializeResult:
    """The end of a one-table analytics run: upsert the partition's rows, count them per partition, and
    report how many were written (as `rows_label`), the seconds taken and the asset's own `metadata`."""
    written = write(database, table, frame)
    rows_per_partition(context, frame)
    return dg.MaterializeResult(
        metadata={rows_label: written, **metadata, "seconds": round(time.monotonic() - started, 2)}
    )


def table_md(frame: pd.DataFrame, columns: list[str], rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    if frame.empty:
        return dg.MetadataValue.md("_none_")
    return dg.MetadataValue.md(frame[columns].head(rows).to_markdown(index=False, floatfmt=".2f"))


DAILY_ANALYTICS_SETTINGS: dict[str, Any] = {
    "group_name": GROUP,
    "kinds": {"pandas", "postgres"},
    "automation_condition": DAILY_ANALYTICS,
    "freshness_policy": DAILY_FRESHNESS,
}


def partition_asset(
    deps: list[dg.AssetDep | dg.AssetsDefinition], **kwargs: Any
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """The decorator shared by the daily analytics assets."""
    return dg.asset(
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=deps,
        **DAILY_ANALYTICS_SETTINGS,
        **kwargs,
    )


def daily_spec(key: str, deps: list[dg.AssetDep], **kwargs: Any) -> dg.AssetSpec:
    """One table of a daily analytics multi-asset, with the same settings as `partition_asset`."""
    return dg.AssetSpec(key, deps=deps, **DAILY_ANALYTICS_SETTINGS, **kwargs)


@partition_asset(deps=[trailing(daily_prices, DEFAULT_PERIOD)], metadata=table_metadata("stock_mfi"))
def stock_money_flow_index(
    context: dg.AssetExecutionContext, database: DatabaseResource
) -> dg.MaterializeResult:
    """Per-stock 14-day Money Flow Index with TA-Lib's conventions, for screening and the sector map."""
    started = time.monotonic()
    start, end = partition_dates(context)
    with database.connection() as conn:
        prices = reads.window(
            conn,
            "daily_prices",
            ["time", "symbol", "high", "low", "close", "volume"],
            read_start(context, "daily_prices"),
            end,
        )
    require_history(prices, "daily_prices", "daily_prices", read_start(context, "daily_prices"), end)
    prices["money_flow_index"] = analytics.money_flow_index_panel(prices)
    mfi = in_partition(prices[["time", "symbol", "money_flow_index"]].dropna(), start, end)
    return written_result(
        context,
        database,
        "stock_mfi",
        mfi,
        started,
        most_overbought=table_md(
            mfi.nlargest(PREVIEW_ROWS, "money_flow_index"), ["time", "symbol", "money_flow_index"]
        ),
    )


@partition_asset(
    deps=[
        trailing(daily_prices, analytics.SECTOR_FLOW_LOOKBACK_DAYS),
        trailing(investor_trends, analytics.SECTOR_FLOW_LOOKBACK_DAYS),
        stock_universe,
    ],
    # The design card names the asset, RFC-010 names the table: both names are a contract.
    metadata=table_metadata(
        "sector_rotation", rfc_table="sector_rotation (RFC-010), written by sector_money_flow"
    ),
)
def sector_money_flow(context: dg.AssetExecutionContext, database: DatabaseResource) -> dg.MaterializeResult:
    """Per KRX 업종 sector and day: foreign / institution / individual net flow, flow intensity against
    sector market cap and turnover, sector MFI, volume change and 20/60-day flow z-scores.

    Membership is point in time (stock_master); the trailing 59 trading days come from PostgreSQL.
    """
    started = time.monotonic()
    start, end = partition_dates(context)
    first = read_start(context, "daily_prices")
    master, prices, flows = stock_panel_inputs(database, first, end, flows_optional=True)
    if flows.empty:
        context.log.warning(f"no investor_trends rows for {first}..{end}: sector flows stay empty (NaN)")
    flow = in_partition(analytics.sector_money_flow(master, prices, flows), start, end)
    last_day = flow[flow["time"] == flow["time"].max()].assign(
        smart_money=lambda f: f["foreign_flow"].astype(float) + f["institution_flow"].astype(float)
    )
    return written_result(
        context,
        database,
        "sector_rotation",
        flow,
        started,
        sectors=int(flow["sector_code"].nunique()),
        top_inflows=table_md(
            last_day.sort_values("smart_money", ascending=False),
            [
                "time",
                "sector_name",
                "market",
                "foreign_flow",
                "institution_flow",
                "flow_z20",
                "money_flow_index",
            ],
        ),
        sector_map=dg.MetadataValue.url(page_url("sectors", end)),
    )


_SIGNAL_DEPS = [trailing(sector_money_flow, ROTATION.lookback_days)]


@dg.multi_asset(
    specs=[
        daily_spec(
            "rotation_signal",
            _SIGNAL_DEPS,
            description="INFLOW / OUTFLOW / NEUTRAL per sector and day with a score and a reason, plus the "
            "Relative Rotation Graph state (RS-Ratio, RS-Momentum, quadrant) from causal rolling windows.",
            metadata=table_metadata(
                "rotation_signal", rfc_column="sector_rotation.rotation_signal (RFC-010)"
            ),
        ),
        daily_spec(
            "rotation_transition",
            _SIGNAL_DEPS,
            description="Quadrant and signal changes between a sector's consecutive days; the signal "
            "changes are what the rotation alerts send.",
            metadata=table_metadata("rotation_transition"),
        ),
    ],
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def rotation_signal(
    context: dg.AssetExecutionContext, database: DatabaseResource, config: RotationSignalConfig
) -> Iterator[dg.MaterializeResult]:
    """Signals and their transitions, computed together and written in one transaction (two tables).
    The flow-weighted signal where flows exist, the price-only RRG rule where they are missing or flat
    (config `method` picks; both are stored)."""
    started = time.monotonic()
    start, end = partition_dates(context)
    first = read_start(context, "sector_money_flow")
    with database.connection() as conn:
        flow = reads.sector_rotation(conn, first, end)
    require_history(flow, "sector_rotation", "sector_money_flow", first, end)
    rotation = dataclasses.replace(ROTATION, method=config.method)
    all_signals = analytics.rotation_signals(flow, rotation)
    transitions = in_partition(analytics.rotation_transitions(all_signals), start, end)
    signals = in_partition(all_signals, start, end)
    with database.connection() as conn, conn.transaction():
        written = upsert_frame(conn, "rotation_signal", signals)
        upsert_frame(conn, "rotation_transition", transitions)
        record_rotation_signal(conn, signals)
    rows_per_partition(context, signals, "rotation_signal")
    rows_per_partition(context, transitions, "rotation_transition")
    names = flow.drop_duplicates("sector_code", keep="last").set_index("sector_code")["sector_name"]
    last_day = signals[signals["time"] == signals["time"].max()].assign(
        sector_name=lambda f: f["sector_code"].map(names)
    )
    yield dg.MaterializeResult(
        asset_key="rotation_signal",
        metadata={
            "rows": written,
            "transitions": len(transitions),
            "signals": dg.MetadataValue.json(
                {str(k): int(n) for k, n in signals["signal"].value_counts().items()}
            ),
            "methods": dg.MetadataValue.json(
                {str(k): int(n) for k, n in signals["signal_method"].value_counts().items()}
            ),
            "seconds": round(time.monotonic() - started, 2),
            "latest": table_md(
                last_day.sort_values("score", ascending=False),
                ["time", "sector_name", "signal", "score", "quadrant", "reason"],
                rows=30,
            ),
            "rotation_view": dg.MetadataValue.url(page_url("rotation", end)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="rotation_transition",
        metadata={
            "rows": len(transitions),
            "signal_changes": int((transitions["kind"] == "signal").sum()) if len(transitions) else 0,
            "latest": table_md(transitions.tail(PREVIEW_ROWS), list(transitions.columns)),
        },
    )


def record_rotation_signal(conn: psycopg.Connection, signals: pd.DataFrame) -> int:
    """Copy each sector-day's signal into RFC-010's sector_rotation.rotation_signal (the row
    sector_money_flow wrote, which the signal was computed from); returns the rows updated."""
    if signals.empty:
        return 0
    updated = conn.execute(
        """UPDATE sector_rotation f SET rotation_signal = v.signal
             FROM unnest(%s::text[], %s::date[], %s::text[]) AS v(sector_code, day, signal)
            WHERE f.sector_code = v.sector_code AND f.time = v.day""",
        (list(signals["sector_code"]), list(signals["time"]), list(signals["signal"])),
    )
    return updated.rowcount


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "postgres"},
    deps=["rotation_signal"],
    automation_condition=WHOLE_HISTORY_ANALYTICS,
    metadata=table_metadata("rotation_scorecard"),
)
def rotation_scorecard(context: dg.AssetExecutionContext, database: DatabaseResource) -> dg.MaterializeResult:
    """How well the rotation signal has predicted on all stored history: hit rate (with a Wilson 95% CI)
    of INFLOW / OUTFLOW against the sector's forward return relative to its market over 5 and 20 trading
    days (from T+1, since signals are known after the close), mean rank IC and its t-statistic — beside
    the price-only signal, a placebo (sector labels permuted within each date) and a plain price-momentum
    baseline; rows with too few signals say so (`judged`). Thresholds are fixed constants, never fitted
    on the window being scored."""
    with database.connection() as conn:
        flow = reads.sector_rotation(conn, None, date.max)
        signals = reads.rotation_signals(conn)
    if signals.empty:
        raise deterministic_failure("rotation_signal is empty: materialize rotation_signal partitions first")
    card = analytics.rotation_scorecard(signals, flow)
    card = card.assign(time=pd.to_datetime(card["time"]).dt.date)
    written = write(database, "rotation_scorecard", card)
    context.log.info(f"scorecard over {card['period_start'].min()}..{card['period_end'].max()}")
    return dg.MaterializeResult(
        metadata={
            "rows": written,
            "scorecard": table_md(
                card,
                ["method", "horizon", "n_signals", "hit_rate", "ci_low", "ci_high", "mean_ic", "judged"],
                rows=12,
            ),
            "rotation_view": dg.MetadataValue.url(page_url("rotation", card["time"].max())),
        }
    )


_OVERHEAT_DEPS: list[dg.AssetDep | dg.AssetsDefinition] = [
    trailing(short_selling, BASELINE_DAYS + 1),
    trailing(daily_prices, BASELINE_DAYS + 1),
    stock_universe,
]


@dataclasses.dataclass(frozen=True)
class OverheatInputs:
    """What both short-overheat assets compute from: the window's stock-days (every trading day present),
    the quarter ratios of all stored history, and the window's short_selling rows."""

    daily: pd.DataFrame
    quarters: pd.DataFrame
    shorts: pd.DataFrame
    first: date


def overheat_inputs(context: dg.AssetExecutionContext, database: DatabaseResource) -> OverheatInputs:
    _, end = partition_dates(context)
    first = read_start(context, "short_selling")
    with database.connection() as conn:
        master = reads.stock_master(conn)
        shorts = reads.window(
            conn, "short_selling", ["time", "symbol", "short_amount", "short_value_ratio"], first, end
        )
        prices = reads.window(conn, "daily_prices", ["time", "symbol", "close", "trading_value"], first, end)
        market_days = reads.market_day_totals(conn)
    require_history(shorts, "short_selling", "short_selling", first, end)
    require_history(prices, "daily_prices", "daily_prices", first, end)
    quarters = analytics.quarterly_short_ratio(market_days)
    return OverheatInputs(overheat_stock_days(master, shorts, prices), quarters, shorts, first)


@partition_asset(deps=_OVERHEAT_DEPS, metadata=table_metadata("short_overheat"))
def short_overheat(context: dg.AssetExecutionContext, database: DatabaseResource) -> dg.MaterializeResult:
    """공매도 과열종목 designations under the KRX rules (types ①②④ KOSPI, ①②③④ KOSDAQ) with their ban
    dates: 40-trading-day baselines, the previous-quarter ratio threshold, the <20-of-40 traded-days
    exclusion, type priority and the ban extension while the price keeps falling ≥ 5%."""
    started = time.monotonic()
    start, end = partition_dates(context)
    inputs = overheat_inputs(context, database)
    _, horizon = calendar_bounds()
    calendar = trading_days(inputs.first, min(end + timedelta(days=BAN_CALENDAR_DAYS), horizon))
    designations = in_partition(analytics.short_overheat(inputs.daily, inputs.quarters, calendar), start, end)
    for column in ("ban_start", "ban_date"):
        designations[column] = pd.to_datetime(designations[column]).dt.date
    return written_result(
        context,
        database,
        "short_overheat",
        designations,
        started,
        rows_label="designations",
        by_rule_type=dg.MetadataValue.json(
            {str(k): int(v) for k, v in designations["rule_type"].value_counts().sort_index().items()}
        ),
        designated=table_md(
            designations,
            [
                "time",
                "symbol",
                "market",
                "rule_type",
                "price_change_pct",
                "short_ratio",
                "short_value_multiple",
                "ban_date",
            ],
            rows=20,
        ),
        overheat_dashboard=dg.MetadataValue.url(page_url("overheat", end)),
    )


@partition_asset(deps=_OVERHEAT_DEPS, metadata=table_metadata("overheat_candidates"))
def overheat_candidates(
    context: dg.AssetExecutionContext, database: DatabaseResource
) -> dg.MaterializeResult:
    """How close each stock is to a type ① 공매도 과열 designation — its price drop against 5%, its short
    ratio against the previous-quarter threshold and its short value multiple against the required 6× / 5×
    — with the designation rule's own baselines, for the /overheat watch list."""
    started = time.monotonic()
    start, end = partition_dates(context)
    inputs = overheat_inputs(context, database)
    candidates = in_partition(analytics.overheat_candidates(inputs.daily, inputs.quarters), start, end)
    # A stock-day without a short_selling row has no short figures to be close with.
    candidates = candidates.merge(inputs.shorts[["symbol", "time"]], on=["symbol", "time"])
    return written_result(
        context,
        database,
        "overheat_candidates",
        candidates,
        started,
        closest=table_md(
            candidates.nlargest(PREVIEW_ROWS, "closeness_pct"),
            [
                "time",
                "symbol",
                "market",
                "closeness_pct",
                "price_change_pct",
                "short_ratio",
                "short_value_multiple",
            ],
        ),
        overheat_dashboard=dg.MetadataValue.url(page_url("overheat", end)),
    )


def overheat_stock_days(master: pd.DataFrame, shorts: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """The pure function's input: one row per stock-day with its market as of that day."""
    daily = prices.merge(shorts, on=["symbol", "time"], how="left")
    daily["short_amount"] = daily["short_amount"].fillna(0)
    daily["short_ratio"] = daily["short_value_ratio"].fillna(0.0)
    daily = daily.drop(columns="short_value_ratio").sort_values(["time", "symbol"])
    membership = master.sort_values("valid_from")[["symbol", "valid_from", "market"]]
    daily = pd.merge_asof(
        daily.assign(day=pd.to_datetime(daily["time"])),
        membership.assign(day=pd.to_datetime(membership["valid_from"])).drop(columns="valid_from"),
        on="day",
        by="symbol",
    )
    return (
        daily.dropna(subset=["market"])
        .drop(columns="day")
        .sort_values(["symbol", "time"])
        .reset_index(drop=True)
    )


@partition_asset(
    deps=[
        trailing(investor_trends, CONCENTRATION.lookback_days),
        trailing(daily_prices, CONCENTRATION.lookback_days),
        stock_universe,
    ],
    metadata=table_metadata("concentrated_buying"),
)
def concentrated_buying(
    context: dg.AssetExecutionContext, database: DatabaseResource
) -> dg.MaterializeResult:
    """외국인/기관 집중 매수: foreign or institution net buying that is unusual for the stock — large against
    its market cap and its own 60-day history, sustained over consecutive days."""
    started = time.monotonic()
    start, end = partition_dates(context)
    first = read_start(context, "investor_trends")
    master, prices, flows = stock_panel_inputs(database, first, end)
    flagged = in_partition(analytics.concentrated_buying(master, prices, flows, CONCENTRATION), start, end)
    return written_result(
        context,
        database,
        "concentrated_buying",
        flagged,
        started,
        flagged=table_md(
            flagged,
            ["time", "symbol", "investor", "net_value_5d", "pct_of_market_cap", "zscore", "reason"],
            rows=20,
        ),
    )


analytics_assets = [
    stock_money_flow_index,
    sector_money_flow,
    rotation_signal,
    rotation_scorecard,
    short_overheat,
    overheat_candidates,
    concentrated_buying,
]
