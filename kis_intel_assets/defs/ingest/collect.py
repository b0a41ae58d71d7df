"""The shared path of every ingestion asset: fetch per symbol, validate, write all or nothing, report.

A run writes every row of its window or none: a symbol that still fails after the client's retries
fails the whole partition with the list of symbols, and a re-run fetches and upserts the window again,
so there is never a half-written partition to reason about. Data that arrives but is wrong (a field
that is not a number, buy − sell ≠ net, a date outside the partition) fails the blocking `schema_valid`
check instead, naming the TR ID, symbol and field, and nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa
from psycopg import sql

from kis_intel_assets.defs.ingest.drift import schema_drift_result
from kis_intel_assets.defs.partition_checks import failed_on_current_state
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.kis import KISClient
from kis_intel_assets.kis.errors import KISError, KISPayloadError
from kis_intel_assets.storage import upsert_frame

SCHEMA_CHECK = "schema_valid"
FAILURE_CASES_SHOWN = 20
PREVIEW_ROWS = 10
# Daily tables whose final rows supersede a table of provisional intraday snapshots.
SUPERSEDED_BY = {
    "program_trading": "intraday_program_trading",
    "investor_trends": "intraday_investor_estimates",
}


@dataclass(frozen=True)
class SymbolDataset:
    """One per-symbol KIS dataset: where it lands and what a valid frame looks like.

    The client's fetcher for a dataset is named like its table (`client.short_selling(...)`).
    """

    table: str
    tr_id: str
    key_columns: tuple[str, ...]
    schema: Callable[[date, date], pa.DataFrameSchema]

    def fetch(self, client: KISClient, symbol: str, start: date, end: date) -> pd.DataFrame:
        return getattr(client, self.table)(symbol, start, end)


class RejectedData(Exception):
    """The data arrived but is wrong; carries the failed blocking check to report before failing."""

    def __init__(self, check: dg.AssetCheckResult) -> None:
        super().__init__(check.description)
        self.check = check


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


def _rejected(table: str, tr_id: str, problem: str, metadata: dict[str, object]) -> RejectedData:
    """The blocking schema check, failed: `problem` says what, the metadata shows which rows or symbols."""
    return RejectedData(
        dg.AssetCheckResult(
            check_name=SCHEMA_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{tr_id} → {table}: {problem}; nothing was written",
            metadata={"tr_id": tr_id, **metadata},
        )
    )


def check_frame(frame: pd.DataFrame, schema: pa.DataFrameSchema, table: str, tr_id: str) -> None:
    """Raise RejectedData with the failure cases when the frame breaks its schema."""
    try:
        schema.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as errors:
        cases = errors.failure_cases
        first = cases.iloc[0]
        problem = f"{len(cases)} schema failure(s), first: {first['check']} on column {first['column']}"
        shown = cases.head(FAILURE_CASES_SHOWN).astype(str).to_markdown(index=False)
        raise _rejected(table, tr_id, problem, {
            "failure_count": len(cases),
            "failure_cases": dg.MetadataValue.md(shown),
        }) from None


def raise_on_fetch_errors(
    table: str, tr_id: str, outcome: FetchOutcome, symbol_count: int, start: date, end: date
) -> None:
    if outcome.bad_payloads:
        first_error = next(iter(outcome.bad_payloads.values()))
        problem = f"bad payload for {len(outcome.bad_payloads)} symbol(s); {first_error}"
        raise _rejected(table, tr_id, problem, {
            "symbols": dg.MetadataValue.json(sorted(outcome.bad_payloads)),
            "errors": dg.MetadataValue.json(dict(list(outcome.bad_payloads.items())[:FAILURE_CASES_SHOWN])),
        })
    if outcome.failed:
        raise dg.Failure(
            description=(
                f"{tr_id} → {table}: {len(outcome.failed)} of {symbol_count} symbols failed after retries, "
                f"nothing was written for {start}..{end}; re-run the partition. "
                f"First error: {next(iter(outcome.failed.values()))}"
            ),
            metadata={"failed_symbols": dg.MetadataValue.json(sorted(outcome.failed))},
        )


def fetch_dataset(
    client: KISClient, dataset: SymbolDataset, symbols: Sequence[str], start: date, end: date, workers: int
) -> pd.DataFrame:
    """Every symbol's rows for the window, validated; raises instead of returning anything partial."""
    outcome = fetch_symbols(client, symbols, lambda c, s: dataset.fetch(c, s, start, end), workers)
    raise_on_fetch_errors(dataset.table, dataset.tr_id, outcome, len(symbols), start, end)
    if not outcome.frames:
        raise dg.Failure(
            description=(
                f"{dataset.tr_id} → {dataset.table}: no rows for {len(symbols)} symbols in {start}..{end}"
            )
        )
    frame = pd.concat(outcome.frames, ignore_index=True)
    check_frame(frame, dataset.schema(start, end), dataset.table, dataset.tr_id)
    return frame


def write_frames(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    writes: Sequence[tuple[str, pd.DataFrame, Sequence[str]]],
    final_for: tuple[date, date] | None = None,
) -> int:
    """Upsert several (table, frame, key) batches in one transaction: all land or none does.

    `final_for` is the window these rows are final for: their provisional intraday counterparts are
    marked superseded in the same transaction.
    """
    total = 0
    with database.connection() as conn, conn.transaction():
        for table, frame, key_columns in writes:
            written = upsert_frame(conn, table, frame, key_columns)
            context.log.info(f"{table}: upserted {written} rows")
            total += written
            if final_for and table in SUPERSEDED_BY:
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET superseded = true WHERE NOT superseded "
                        "AND (time AT TIME ZONE 'Asia/Seoul')::date BETWEEN %s AND %s"
                    ).format(sql.Identifier(SUPERSEDED_BY[table])),
                    final_for,
                )
    return total


def reporting_rejections(
    context: dg.AssetExecutionContext, run: Callable[[], dg.MaterializeResult]
) -> Iterator[dg.AssetCheckEvaluation | dg.MaterializeResult]:
    """Run an asset body; rejected data is reported as the failed blocking check, then fails the step."""
    try:
        result = run()
    except RejectedData as rejected:
        yield failed_on_current_state(context, rejected.check)
        raise dg.Failure(description=rejected.check.description, allow_retries=False) from None
    yield result


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
) -> dg.MaterializeResult:
    metrics = client.metrics.snapshot()
    return dg.MaterializeResult(
        metadata={
            "rows": rows_written,
            "symbols": symbols,
            "window": f"{start.isoformat()}..{end.isoformat()}",
            "requests": metrics["requests"],
            "retries": metrics["retries_total"],
            "retries_by_reason": dg.MetadataValue.json(metrics["retries"]),
            "rate_limit_waits": metrics["rate_limit_waits"],
            "rate_limit_wait_seconds": metrics["rate_limit_wait_seconds"],
            "seconds": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False)),
            **(extra or {}),
        },
        check_results=[
            dg.AssetCheckResult(check_name=SCHEMA_CHECK, passed=True),
            schema_drift_result(client),
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
    frame = fetch_dataset(client, dataset, symbols, start, end, workers)
    written = write_frames(context, database, [(dataset.table, frame, dataset.key_columns)], (start, end))
    rows_per_partition(context, frame)
    return materialize_result(
        frame,
        rows_written=written,
        symbols=len(symbols),
        client=client,
        started=started,
        start=start,
        end=end,
    )
