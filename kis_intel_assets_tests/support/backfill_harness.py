"""Shared by the fault tests and benchmarks/soak.py: run ingestion backfills through Dagster against the
simulator, and count how the stored rows differ from the simulator's ground truth.

A comparison counts rows, not just "equal or not", because the reliability claim is quantitative:
0 missing, 0 duplicated, 0 extra and 0 different rows after faults, crashes and concurrent runs.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import dagster as dg
import pandas as pd

from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.simulators import simulator_resources

INGEST_ASSETS = [daily_prices, investor_trends, short_selling, program_trading]
SYMBOL_KEY = ["symbol", "time"]
MASTER_COLUMNS = ["symbol", "name", "market", "sector_code", "sector_name", "listed_shares"]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
TruthFrame = Callable[[Simulator, date, date], pd.DataFrame]
INGEST_TRUTH: dict[str, tuple[TruthFrame, list[str]]] = {
    "daily_prices": (lambda sim, a, b: sim.truth.daily_prices(a, b), SYMBOL_KEY),
    "investor_trends": (lambda sim, a, b: sim.truth.investor_trends(a, b), SYMBOL_KEY),
    "short_selling": (lambda sim, a, b: sim.truth.short_selling(a, b), SYMBOL_KEY),
    "program_trading": (lambda sim, a, b: sim.truth.program_trading(a, b), SYMBOL_KEY),
    "program_trading_market": (
        lambda sim, a, b: sim.truth.program_trading_market(a, b),
        ["market", "trade_type", "time"],
    ),
}
# Retry reasons the client reports (kis/session.py) for each injected fault kind.
RETRY_REASON_OF_FAULT = {
    "timeout": "timeout",
    "drop": "connection",
    "http5xx": "http5xx",
    "egw00201_500": "rate_limited",
    "egw00201_200": "rate_limited",
    "malformed": "bad_json",
    "truncated": "bad_json",
    "token_expiry": "token_expired",
}


@dataclass(frozen=True)
class Comparison:
    table: str
    truth_rows: int
    stored_rows: int
    missing: int
    extra: int
    duplicated: int
    different: int

    @property
    def exact(self) -> bool:
        return self.truth_rows > 0 and not (self.missing or self.extra or self.duplicated or self.different)

    def __str__(self) -> str:
        return (
            f"{self.table}: {self.stored_rows} stored / {self.truth_rows} truth, missing {self.missing}, "
            f"extra {self.extra}, duplicated {self.duplicated}, different {self.different}"
        )


def kis_resources(
    sim: Simulator,
    database_url: str,
    app_key: str,
    *,
    app_secret: str = "reliability-app-secret",
    rate_limit_per_sec: float,
    read_timeout_seconds: float = 15.0,
    fetch_workers: int = 8,
) -> dict[str, object]:
    return simulator_resources(
        sim,
        database_url,
        app_key,
        app_secret,
        rate_limit_per_sec=rate_limit_per_sec,
        read_timeout_seconds=read_timeout_seconds,
        fetch_workers=fetch_workers,
    )


@dataclass
class BackfillOutcome:
    runs: list[dg.ExecuteInProcessResult]

    @property
    def success(self) -> bool:
        return bool(self.runs) and self.runs[-1].success

    @property
    def reruns(self) -> int:
        return len(self.runs) - 1

    def retries_by_reason(self) -> Counter[str]:
        """Client retries reported in the materialization metadata of every run.

        A range run repeats one step's metadata on each partition's materialization; count each step once.
        """
        total: Counter[str] = Counter()
        for run in self.runs:
            seen: set[str] = set()
            for event in run.get_asset_materialization_events():
                entry = event.materialization.metadata.get("retries_by_reason")
                if entry is not None and event.step_key not in seen:
                    seen.add(str(event.step_key))
                    total.update(entry.value)  # type: ignore[arg-type]
        return total

    def rejections(self) -> int:
        """Failed blocking schema checks: data that arrived wrong and was not written."""
        return sum(
            not evaluation.passed
            for run in self.runs
            for evaluation in run.get_asset_check_evaluations()
            if evaluation.check_name == "schema_valid"
        )

    def failures(self) -> list[str]:
        return [
            str(event.step_failure_data.error.message if event.step_failure_data.error else event.message)
            for run in self.runs
            for event in run.all_events
            if event.is_step_failure
        ]


def materialize_with_one_rerun(
    assets: Sequence[dg.AssetsDefinition],
    resources: dict[str, object],
    *,
    tags: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    reruns: int = 1,
) -> BackfillOutcome:
    """Materialize; if the run still fails after the client's and Dagster's retries, run the assets that
    did not materialize again, as a user re-runs failed partitions (once by default: a run rejected for
    corrupted data may need more while the corruption keeps coming)."""
    runs: list[dg.ExecuteInProcessResult] = []
    remaining = list(assets)
    for _ in range(1 + reruns):
        run = dg.materialize(
            remaining,
            resources=resources,
            tags=tags or {},
            instance=instance,
            raise_on_error=False,
            run_config=QUIET,
        )
        runs.append(run)
        if run.success:
            break
        remaining = [a for a in remaining if not run.asset_materializations_for_node(a.node_def.name)]
    return BackfillOutcome(runs)


def load_universe(
    resources: dict[str, object], instance: dg.DagsterInstance | None = None
) -> BackfillOutcome:
    return materialize_with_one_rerun([stock_universe], resources, instance=instance)


def table_frame(database_url: str, table: str) -> pd.DataFrame:
    with connect(database_url) as conn:
        return fetch_frame(conn, f"SELECT * FROM {table}")


def compare_frames(table: str, stored: pd.DataFrame, truth: pd.DataFrame, keys: Sequence[str]) -> Comparison:
    """Row counts by kind of difference; values compare as numbers where both sides are numbers."""
    keys = list(keys)
    stored = _normalised(stored[list(truth.columns)])
    truth = _normalised(truth)
    merged = truth.merge(
        stored.drop_duplicates(keys), on=keys, how="outer", suffixes=("_truth", "_db"), indicator=True
    )
    both = merged[merged["_merge"] == "both"]
    value_columns = [column for column in truth.columns if column not in keys]
    different = sum(
        not all(_same(row[f"{c}_truth"], row[f"{c}_db"]) for c in value_columns) for _, row in both.iterrows()
    )
    return Comparison(
        table=table,
        truth_rows=len(truth),
        stored_rows=len(stored),
        missing=int((merged["_merge"] == "left_only").sum()),
        extra=int((merged["_merge"] == "right_only").sum()),
        duplicated=int(stored.duplicated(keys).sum()),
        different=different,
    )


def compare_ingest_tables(sim: Simulator, database_url: str, start: date, end: date) -> list[Comparison]:
    return [
        compare_frames(table, table_frame(database_url, table), truth(sim, start, end), keys)
        for table, (truth, keys) in INGEST_TRUTH.items()
    ]


def compare_stock_master(sim: Simulator, database_url: str) -> Comparison:
    """The universe stores each stock's current classification: the latest ground-truth row per symbol."""
    truth = sim.truth.stock_master().sort_values("valid_from").groupby("symbol").tail(1)
    stored = table_frame(database_url, "stock_master")
    return compare_frames("stock_master", stored[MASTER_COLUMNS], truth[MASTER_COLUMNS], ["symbol"])


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    if "time" in frame.columns:
        frame["time"] = pd.to_datetime(frame["time"]).dt.date
    return frame.astype(object).where(frame.notna(), None)


def _same(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    numeric = (numbers.Real, Decimal)
    if isinstance(left, numeric) and isinstance(right, numeric) and not isinstance(left, bool):
        return math.isclose(float(left), float(right), rel_tol=1e-12, abs_tol=1e-9)
    return left == right
