"""The shared path of every ingestion asset: fetch per symbol, validate, write all or nothing, report.

A run writes every row of its window or none: a symbol that still fails after the client's retries
fails the whole partition with the list of symbols, so there is never a half-written partition to reason
about. What did arrive is not thrown away: each symbol's parsed answer is kept in the fetch cache
(storage/fetch_cache.py) as soon as it arrives, the re-run of the window asks KIS only for the missing
symbols, and the transaction that writes the partition deletes the kept answers. Data that arrives but
is wrong (a field that is not a number, buy − sell ≠ net, a ratio that does not match its values, a
price outside the daily band, a date outside the partition) fails the blocking `schema_valid` check
instead, naming the TR ID, symbol and field, and nothing is written. Fields read only for those checks
are dropped first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kis_intel_assets.defs.ingest.drift import schema_drift_result
from kis_intel_assets.defs.ingest.sources import source_metadata
from kis_intel_assets.defs.krx.balance import fill_short_selling_balance
from kis_intel_assets.defs.partition_checks import failed_on_current_state
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.kis import KISClient
from kis_intel_assets.kis.endpoints import ENDPOINTS
from kis_intel_assets.kis.errors import KISError, KISPayloadError
from kis_intel_assets.kis.publication import UNPUBLISHED, oldest_pending
from kis_intel_assets.krx_calendar import CalendarRangeError, previous_trading_day, trading_days
from kis_intel_assets.storage import registered_table, upsert_frame
from kis_intel_assets.storage.fetch_cache import FetchCache
from kis_intel_assets.storage.table_columns import table_columns

SCHEMA_CHECK = "schema_valid"
FAILURE_CASES_SHOWN = 20
PREVIEW_ROWS = 10
# {day: (kind, reason)} of days KIS could not serve (kis/publication.py), per table written.
Unserved = Mapping[date, tuple[str, str]]
# Writes after which short_selling's balance columns are refreshed from short_balance, whichever of
# the two landed first (defs/krx/balance.py).
REFRESH_SHORT_SELLING_BALANCE = ("short_selling", "short_balance")


# One symbol's rows for a window: (symbol, start, end) -> frame.
SymbolFetch = Callable[[str, date, date], pd.DataFrame]


@dataclass(frozen=True)
class SymbolDataset:
    """One per-symbol KIS dataset: how it is fetched, where it lands and what a valid frame looks like."""

    table: str
    tr_id: str
    schema: Callable[[date, date], pa.DataFrameSchema]
    # The client's fetcher, named explicitly (`lambda kis: kis.short_selling`). It is looked up on the
    # client the run uses, so a routing client (kiwoom/routing.py) answers with its own.
    fetcher: Callable[[KISClient], SymbolFetch]
    # Also fetch the trading day before the window, validated but never written: the schema can then tell
    # a stock's first day (no earlier row: a listing day) from a day with a previous one.
    previous_day: bool = False

    def fetch(self, client: KISClient, symbol: str, start: date, end: date) -> pd.DataFrame:
        return self.fetcher(client)(symbol, start, end)


class RejectedData(Exception):
    """The data arrived but is wrong; carries the failed blocking check (and the table whose data it
    rejected, which picks the check of a multi-asset) to report before failing."""

    def __init__(self, check: dg.AssetCheckResult, table: str) -> None:
        super().__init__(check.description)
        self.check = check
        self.table = table


@dataclass
class FetchOutcome:
    frames: list[pd.DataFrame] = field(default_factory=list)
    bad_payloads: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def fetch_symbols(
    client: KISClient,
    symbols: Sequence[str],
    fetch: Callable[[KISClient, str], pd.DataFrame],
    workers: int,
) -> FetchOutcome:
    """Fetch every symbol on a small thread pool; the shared rate limiter does the pacing."""
    outcome = FetchOutcome()

    def one(symbol: str) -> tuple[str, pd.DataFrame | KISError]:
        try:
            return symbol, fetch(client, symbol)
        except KISError as exc:
            return symbol, exc

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kis-fetch") as pool:
        for symbol, result in pool.map(one, symbols):
            if isinstance(result, KISPayloadError):
                outcome.bad_payloads[symbol] = str(result)
            elif isinstance(result, KISError):
                outcome.failed[symbol] = str(result)
            elif not result.empty:
                outcome.frames.append(result)
    return outcome


def _rejected(
    table: str, tr_id: str, problem: str, metadata: Mapping[str, dg.RawMetadataValue]
) -> RejectedData:
    """The blocking schema check, failed: `problem` says what, the metadata shows which rows or symbols."""
    return RejectedData(
        dg.AssetCheckResult(
            check_name=SCHEMA_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{tr_id} → {table}: {problem}; nothing was written",
            metadata={"tr_id": tr_id, **metadata},
        ),
        table,
    )


def check_frame(frame: pd.DataFrame, schema: pa.DataFrameSchema, table: str, tr_id: str) -> None:
    """Raise RejectedData with the failure cases when the frame breaks its schema.

    The description names the first failing row (symbol or market, day), the check and the KIS fields
    it reads, like a KISPayloadError names TR ID, symbol and field.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as errors:
        cases = errors.failure_cases
        first = cases.iloc[0]
        column = "" if first["schema_context"] == "DataFrameSchema" else f" on column {first['column']}"
        problem = (
            f"{len(cases)} schema failure(s), first: {first['check']}{column}"
            f"{_row_label(frame, first['index'])}{_kis_fields(tr_id, str(first['check']), first['column'])}"
        )
        shown = cases.head(FAILURE_CASES_SHOWN).astype(str).to_markdown(index=False)
        raise _rejected(
            table,
            tr_id,
            problem,
            {
                "failure_count": len(cases),
                "failure_cases": dg.MetadataValue.md(shown),
            },
        ) from None


def _row_label(frame: pd.DataFrame, index: Any) -> str:
    """`index`: a failure case's, a label of `frame`'s index or None / NaN (a frame-wide check)."""
    if index is None or pd.isna(index) or index not in frame.index:
        return ""
    row = frame.loc[index]
    who = next((f"{k} {row[k]}" for k in ("symbol", "market") if k in frame.columns), "")
    day = f" on {row['time']}" if "time" in frame.columns else ""
    return f" ({who}{day})" if who or day else ""


def _kis_fields(tr_id: str, check: str, column: object) -> str:
    endpoint = ENDPOINTS.get(tr_id)
    if endpoint is None:
        return ""
    named = set(re.findall(r"[a-z][a-z0-9_]*", check)) | {str(column)}
    sources = [f.source for f in endpoint.fields if f.column in named]
    return f"; KIS fields {', '.join(sources)}" if sources else ""


def raise_on_fetch_errors(
    table: str,
    tr_id: str,
    outcome: FetchOutcome,
    symbol_count: int,
    start: date,
    end: date,
    kept: FetchCache | None = None,
) -> None:
    if outcome.bad_payloads:
        first_error = next(iter(outcome.bad_payloads.values()))
        problem = f"bad payload for {len(outcome.bad_payloads)} symbol(s); {first_error}"
        raise _rejected(
            table,
            tr_id,
            problem,
            {
                "symbols": dg.MetadataValue.json(sorted(outcome.bad_payloads)),
                "errors": dg.MetadataValue.json(
                    dict(list(outcome.bad_payloads.items())[:FAILURE_CASES_SHOWN])
                ),
            },
        )
    if outcome.failed:
        rerun = (
            f"re-run the partition: the {symbol_count - len(outcome.failed)} symbols fetched are kept and "
            f"only the {len(outcome.failed)} missing are asked again"
            if kept
            else "re-run the partition"
        )
        raise dg.Failure(
            description=(
                f"{tr_id} → {table}: {len(outcome.failed)} of {symbol_count} symbols failed after retries, "
                f"nothing was written for {start}..{end}; {rerun}. "
                f"First error: {next(iter(outcome.failed.values()))}"
            ),
            metadata={"failed_symbols": dg.MetadataValue.json(sorted(outcome.failed))},
        )


def fetch_dataset(
    client: KISClient,
    dataset: SymbolDataset,
    symbols: Sequence[str],
    start: date,
    end: date,
    workers: int,
    cache: FetchCache | None = None,
) -> pd.DataFrame:
    """Every symbol's rows for the window, validated; raises instead of returning anything partial.

    With a `cache`, symbols an earlier run of the window already fetched are taken from it, each new
    answer is kept as it arrives, and rejected data is forgotten (its re-run must ask KIS again). A
    dataset checked against the previous close is fetched from the trading day before `start`; that day
    is only read for the checks and never written.
    """
    fetch_start = _day_before(start) if dataset.previous_day else start
    kept = cache.load(symbols) if cache else {}

    def fetch(c: KISClient, symbol: str) -> pd.DataFrame:
        frame = dataset.fetch(c, symbol, fetch_start, end)
        if cache:
            cache.store(symbol, frame)
        return frame

    outcome = fetch_symbols(client, [s for s in symbols if s not in kept], fetch, workers)
    outcome.frames[:0] = [frame for frame in kept.values() if not frame.empty]
    # Symbols that failed or answered garbage are asked again by the re-run; the rest stay kept.
    raise_on_fetch_errors(dataset.table, dataset.tr_id, outcome, len(symbols), start, end, cache)
    _record_unserved_recent(client, dataset.tr_id, outcome.frames, start, end)
    unavailable = unavailable_days(client, dataset.tr_id, start, end)
    pending = oldest_pending(dataset.tr_id, client.server_clock.now().date())
    _raise_on_refused_past_days(dataset, unavailable, pending)
    try:
        frame = pd.concat(outcome.frames, ignore_index=True) if outcome.frames else pd.DataFrame()
        if not frame.empty:
            check_frame(frame, dataset.schema(fetch_start, end), dataset.table, dataset.tr_id)
            frame = frame[frame["time"] >= start].reset_index(drop=True)
        if frame.empty:
            if set(trading_days(start, end)) <= set(unavailable):
                return pd.DataFrame()  # nothing to write yet: every day is reported as unavailable
            raise dg.Failure(
                description=(
                    f"{dataset.tr_id} → {dataset.table}: no rows for {len(symbols)} symbols in {start}..{end}"
                )
            )
    except (dg.Failure, RejectedData):
        if cache:
            cache.discard()  # every symbol answered and the whole is wrong: the re-run starts afresh
        raise
    return frame.drop(columns=list(ENDPOINTS[dataset.tr_id].check_only_columns))


def _day_before(day: date) -> date:
    try:
        return previous_trading_day(day)
    except CalendarRangeError:
        return day  # the calendar's first day: nothing before it to fetch


def _raise_on_refused_past_days(dataset: SymbolDataset, unavailable: Unserved, pending: date) -> None:
    """KIS refusing *past* days before its publication time (FHPTJ04160001 may refuse every request
    until 15:41) is not "today is not out yet": the run cannot get days it should have, so the step fails
    with KIS's reason instead of recording a materialization without them. Days from `pending` on (today,
    or the day before for a TR that may publish a day late) may still be unpublished."""
    past = sorted(day for day, (kind, _) in unavailable.items() if kind == UNPUBLISHED and day < pending)
    if past:
        reason = unavailable[past[0]][1]
        raise dg.Failure(
            description=(
                f"{dataset.tr_id} → {dataset.table}: KIS refused {len(past)} past day(s) "
                f"{past[0]}..{past[-1]} "
                f"before its publication time, nothing was written; re-run after it. {reason}"
            ),
            metadata={"refused_days": dg.MetadataValue.json([d.isoformat() for d in past])},
            allow_retries=False,
        )


def unavailable_days(client: KISClient, tr_id: str, start: date, end: date) -> dict[date, tuple[str, str]]:
    return {day: entry for day, entry in client.unavailable.days(tr_id).items() if start <= day <= end}


def _record_unserved_recent(
    client: KISClient, tr_id: str, frames: Sequence[pd.DataFrame], start: date, end: date
) -> None:
    """KIS's today (and, for a TR that may publish a day late, the trading day before) with no row for
    any stock is not published yet (short selling, programme and lending data have no documented
    publication time), not a gap: record it like the days KIS said so for."""
    now = client.server_clock.now()
    pending = oldest_pending(tr_id, now.date())
    served = {day for f in frames for day in f["time"]}
    days = [d for d in trading_days(start, end) if pending <= d <= now.date() and d not in served]
    for day in days:
        reason = f"{tr_id}: no stock has a row for {day} yet at KIS time {now:%Y-%m-%d %H:%M} KST"
        client.unavailable.record(tr_id, [day], UNPUBLISHED, reason)


def availability_metadata(unavailable: Mapping[str, Unserved]) -> dict[str, dg.RawMetadataValue]:
    """Which days of the window KIS could not serve and why (empty when it served every day)."""
    listed = {
        table: {day.isoformat(): f"{kind}: {reason}" for day, (kind, reason) in sorted(days.items())}
        for table, days in unavailable.items()
        if days
    }
    return {"unavailable_days": dg.MetadataValue.json(listed)} if listed else {}


def write_frames(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    writes: Sequence[tuple[str, pd.DataFrame]],
    final_for: tuple[date, date] | None = None,
    fetched: Sequence[FetchCache] = (),
    unavailable: Mapping[str, Unserved] | None = None,
) -> dict[str, int]:
    """Upsert several (table, frame) batches in one transaction: all land or none does; returns the
    rows written per table.

    `final_for` is the window these rows are final for: their provisional intraday counterparts are
    marked superseded in the same transaction, and `unavailable` (per table) replaces the window's
    record of days KIS could not serve. The `fetched` caches the rows came from are emptied in that
    transaction too: once the partition is written, a new run must ask KIS again.
    """
    written: dict[str, int] = {}
    with database.connection() as conn, conn.transaction():
        for cache in fetched:
            cache.clear(conn)
        for table, frame in writes:
            written[table] = upsert_frame(conn, table, frame) if not frame.empty else 0
            context.log.info(f"{table}: upserted {written[table]} rows")
            if final_for:
                _replace_unavailable(conn, table, final_for, (unavailable or {}).get(table, {}))
                for day, (kind, reason) in sorted((unavailable or {}).get(table, {}).items()):
                    context.log.warning(f"{table}: {day} not written ({kind}): {reason}")
            if final_for and table in REFRESH_SHORT_SELLING_BALANCE:
                filled = fill_short_selling_balance(conn, final_for)
                context.log.info(f"short_selling: balance columns set on {filled} rows from short_balance")
            provisional = registered_table(table).supersedes
            if final_for and provisional:
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET superseded = true WHERE NOT superseded "
                        "AND (time AT TIME ZONE 'Asia/Seoul')::date BETWEEN %s AND %s"
                    ).format(sql.Identifier(provisional)),
                    final_for,
                )
    return written


def _replace_unavailable(
    conn: psycopg.Connection, table: str, window: tuple[date, date], days: Unserved
) -> None:
    conn.execute(
        "DELETE FROM ingest_unavailable WHERE table_name = %s AND day BETWEEN %s AND %s", (table, *window)
    )
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO ingest_unavailable (table_name, day, kind, reason) VALUES (%s, %s, %s, %s)",
            [(table, day, kind, reason) for day, (kind, reason) in sorted(days.items())],
        )


def reporting_rejections(
    context: dg.AssetExecutionContext, run: Callable[[], dg.MaterializeResult | list[dg.MaterializeResult]]
) -> Iterator[dg.AssetCheckEvaluation | dg.MaterializeResult]:
    """Run an asset body (one result, or one per table of a multi-asset); rejected data is reported as the
    failed blocking check of the table it was meant for, then fails the step."""
    try:
        result = run()
    except RejectedData as rejected:
        table = dg.AssetKey(rejected.table)
        yield failed_on_current_state(
            context, rejected.check, table if table in context.assets_def.keys else None
        )
        raise dg.Failure(description=rejected.check.description, allow_retries=False) from None
    yield from result if isinstance(result, list) else [result]


def materialize_result(
    frame: pd.DataFrame,
    *,
    rows_written: int,
    symbols: int,
    client: KISClient,
    started: float,
    start: date,
    end: date,
    extra: dict[str, dg.RawMetadataValue] | None = None,
    checks: Sequence[dg.AssetCheckResult] = (),
    asset_key: str | None = None,
    drift_tr_ids: Sequence[str] | None = None,
) -> dg.MaterializeResult:
    """The run's figures and in-asset checks; `asset_key` names the table's asset in a multi-asset and
    `drift_tr_ids` the endpoints its schema_drift check reports on (default: all the run called)."""
    metrics = client.metrics.snapshot()
    return dg.MaterializeResult(
        asset_key=asset_key,
        metadata={
            "rows": rows_written,
            "symbols": symbols,
            "window": f"{start.isoformat()}..{end.isoformat()}",
            "requests": metrics["requests"],
            "retries": metrics["retries_total"],
            "retries_by_reason": dg.MetadataValue.json(metrics["retries"]),
            "rate_limit_waits": metrics["rate_limit_waits"],
            "rate_limit_wait_seconds": metrics["rate_limit_wait_seconds"],
            "rate_limit_budget_changes": dg.MetadataValue.json(metrics["rate_limit_budget_changes"]),
            "seconds": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False)),
            **source_metadata(client),
            **(extra or {}),
        },
        check_results=[
            dg.AssetCheckResult(check_name=SCHEMA_CHECK, passed=True, asset_key=asset_key),
            schema_drift_result(client, asset_key, drift_tr_ids),
            *checks,
        ],
    )


def ingest_symbol_dataset(
    context: dg.AssetExecutionContext,
    client: KISClient,
    database: DatabaseResource,
    dataset: SymbolDataset,
    symbols: Sequence[str],
    start: date,
    end: date,
    workers: int,
) -> dg.MaterializeResult:
    """The whole life of a per-symbol asset run: fetch, validate, write, report."""
    started = time.monotonic()
    with FetchCache(database.resolved_url, dataset.table, start, end) as cache:
        frame = fetch_dataset(client, dataset, symbols, start, end, workers, cache)
        if not frame.empty and "source" not in frame and _has_column(dataset.table, "source"):
            frame = frame.assign(source="KIS")  # a row re-written by KIS may have come from KRX before
        unavailable = {dataset.table: unavailable_days(client, dataset.tr_id, start, end)}
        written = write_frames(
            context,
            database,
            [(dataset.table, frame)],
            final_for=(start, end),
            unavailable=unavailable,
            fetched=[cache],
        )[dataset.table]
    rows_per_partition(context, frame)
    return materialize_result(
        frame,
        rows_written=written,
        symbols=len(symbols),
        client=client,
        started=started,
        start=start,
        end=end,
        extra={"symbols_from_earlier_run": cache.reused, **availability_metadata(unavailable)},
    )


def _has_column(table: str, column: str) -> bool:
    return any(c.name == column for c in table_columns(table))
