"""Daily per-stock collection of every dataset Kiwoom can serve (kiwoom/routing.py ROUTED_DATASETS: one
trading day, every symbol of the universe) KIS-only against KIS + Kiwoom, side by side in one run, through
the product's fetch path (collect.fetch_symbols on 8 workers) and the shared PostgreSQL limiter; every
result is compared with ground truth (Kiwoom rows: every column but the dataset's `not_from_kiwoom`).

KIS is paced at its 20 requests/s. Kiwoom's budget is per TR (docs/kiwoom_api.md): 5/s is the figure
clients measured live (the default); 10/s and 20/s show how the split moves if a TR grants more. The
datasets run one after another, as the daily_market_data job runs them (one process, one KIS step at a
time), and the last rows sum them: the daily collection of what Kiwoom serves, and the same with
daily_prices (which only KIS serves: the same seconds in both runs). programme trading and stock lending
come from Kiwoom's ka90004 / ka90012 market lists (a few pages per market); investor_trends costs Kiwoom
4 ka10059 calls a stock, short_selling one ka10014 call. Kiwoom's short_selling rows take the day's
trading value from the stored daily_prices; here that table's content (which the ingest tests show equals
ground truth) stands in for it.

Needs PostgreSQL: KIS_INTEL_BENCH_DATABASE_URL, see benchmarks/rate_limit.py.
Run: `.venv/bin/python -m benchmarks --only kiwoom_source [--quick]`
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from benchmarks.rate_limit import scratch_database
from kis_intel_assets.defs.ingest.collect import fetch_symbols
from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kiwoom import KiwoomClient, KiwoomConfig
from kis_intel_assets.kiwoom.config import DEFAULT_RATE_LIMIT_PER_SEC
from kis_intel_assets.kiwoom.routing import KIWOOM, ROUTED_DATASETS, TradingValues, routed
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import running_kiwoom_simulator

KIS_RATE = 20.0
# Kiwoom requests/s per TR: the measured default first
KIWOOM_RATES = (DEFAULT_RATE_LIMIT_PER_SEC, 10.0, 20.0)
DAY = dt.date(2024, 6, 28)
WORKERS = 8


def _collect(client: object, dataset: str, symbols: list[str]) -> tuple[pd.DataFrame, float]:
    started = time.monotonic()
    outcome = fetch_symbols(client, symbols, lambda c, s: getattr(c, dataset)(s, DAY, DAY), WORKERS)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    if outcome.failed or outcome.bad_payloads:
        raise RuntimeError(
            f"collection failed: {list(outcome.failed.items())[:1]} {list(outcome.bad_payloads)[:1]}"
        )
    return pd.concat(outcome.frames, ignore_index=True), elapsed


def _equals_truth(frame: pd.DataFrame, truth: pd.DataFrame, dataset: str) -> bool:
    """Every column both brokers give equals truth; Kiwoom rows are NULL in the others."""
    got = frame.sort_values("symbol").reset_index(drop=True)
    missing = [c for c in ROUTED_DATASETS[dataset].not_from_kiwoom if c in truth.columns]
    # The clients' frames lack what only the asset fills (short_selling's balance columns, from KRX).
    shared = [c for c in truth.columns if c not in missing and c in got.columns]
    from_kiwoom = got["source"] == KIWOOM if "source" in got else pd.Series(False, index=got.index)
    return (
        got[shared].astype(str).equals(truth[shared].astype(str))
        and got.loc[~from_kiwoom, missing].astype(str).equals(truth.loc[~from_kiwoom, missing].astype(str))
        and bool(got.loc[from_kiwoom, missing].isna().all().all())
    )


def _stored_daily_prices(truth: pd.DataFrame) -> TradingValues:
    by_symbol = {s: {DAY: int(v)} for s, v in zip(truth["symbol"], truth["trading_value"], strict=True)}
    return lambda symbol, start, end: by_symbol.get(symbol, {})


def _row(name: str, seconds: float, baseline: float, note: str) -> dict:
    return {
        "benchmark": name,
        "value": round(seconds, 2),
        "unit": "s",
        "ratio": round(seconds / baseline, 3),
        "note": note,
    }


def run(quick: bool) -> list[dict]:
    n_symbols = 200 if quick else 2500
    market = SimulatorConfig(
        seed=7,
        n_symbols=n_symbols,
        start=dt.date(2024, 6, 3),
        end=DAY,
        rate_limit_per_sec=KIS_RATE,
        symbol_cache_size=n_symbols + 10,
    )
    rows = []
    totals = dict.fromkeys(("kis", *KIWOOM_RATES), 0.0)
    with scratch_database() as url, running_simulator(market) as kis_sim:
        symbols = kis_sim.truth.symbols()
        stored = _stored_daily_prices(kis_sim.truth.daily_prices(DAY, DAY))
        kis_config = KISConfig(
            app_key="bench-kiwoom-kis",
            app_secret="bench-secret",
            database_url=url,
            base_url=kis_sim.base_url,
            master_base_url=kis_sim.master_base_url,
            rate_limit_per_sec=KIS_RATE,
        )
        with KISClient.connect(kis_config) as kis:
            kis.daily_prices(symbols[0], DAY, DAY)  # token and connections outside the timing
            _, prices_seconds = _collect(kis, "daily_prices", symbols)
            rows.append(
                _row(
                    f"daily daily_prices {n_symbols} stocks, KIS (both runs: no Kiwoom TR serves it)",
                    prices_seconds,
                    prices_seconds,
                    f"KIS {KIS_RATE:g}/s",
                )
            )
            for dataset in ROUTED_DATASETS:
                truth = getattr(kis_sim.truth, dataset)(DAY, DAY).sort_values("symbol").reset_index(drop=True)
                getattr(kis, dataset)(symbols[0], DAY, DAY)  # token and connections outside the timing
                kis_frame, kis_seconds = _collect(kis, dataset, symbols)
                totals["kis"] += kis_seconds
                name = f"daily {dataset} {n_symbols} stocks"
                rows.append(
                    _row(
                        f"{name}, KIS only",
                        kis_seconds,
                        kis_seconds,
                        f"equals truth: {_equals_truth(kis_frame, truth, dataset)}; KIS {KIS_RATE:g}/s",
                    )
                )
                for rate in KIWOOM_RATES:
                    frame, seconds, split = _collect_both(kis, kis_sim, url, dataset, symbols, rate, stored)
                    totals[rate] += seconds
                    equal = _equals_truth(frame, truth, dataset)
                    rows.append(
                        _row(
                            f"{name}, KIS + Kiwoom {rate:g}/s per TR",
                            seconds,
                            kis_seconds,
                            f"equals truth: {equal}; symbols by source {split}",
                        )
                    )
    for rate in KIWOOM_RATES:
        rows.append(
            _row(
                f"daily collection ({', '.join(ROUTED_DATASETS)}) {n_symbols} stocks, "
                f"KIS + Kiwoom {rate:g}/s per TR",
                totals[rate],
                totals["kis"],
                f"KIS only {totals['kis']:.2f} s",
            )
        )
    for rate in KIWOOM_RATES:
        rows.append(
            _row(
                f"daily_market_data's per-stock collection (the above + daily_prices) {n_symbols} stocks, "
                f"KIS + Kiwoom {rate:g}/s per TR",
                totals[rate] + prices_seconds,
                totals["kis"] + prices_seconds,
                f"KIS only {totals['kis'] + prices_seconds:.2f} s",
            )
        )
    return rows


def _collect_both(
    kis: KISClient,
    kis_sim: object,
    url: str,
    dataset: str,
    symbols: list[str],
    rate: float,
    stored: TradingValues,
) -> tuple[pd.DataFrame, float, dict]:
    with running_kiwoom_simulator(kis_sim.model, KiwoomSimSettings(rate_limit_per_sec=rate)) as kw_sim:  # type: ignore[attr-defined]
        kiwoom_config = KiwoomConfig(
            app_key=f"bench-kiwoom-{dataset}-{rate:g}",
            app_secret="bench-kiwoom-secret",
            database_url=url,
            base_url=kw_sim.base_url,
            rate_limit_per_sec=rate,
        )
        client = routed(
            kis,
            lambda: KiwoomClient(kiwoom_config),
            "both",
            stored,
            kis_rate_per_sec=KIS_RATE,
            kiwoom_rate_per_sec=rate,
        )
        try:
            # Kiwoom's token outside the timing (one ka10014 call: programme trading's lists stay timed)
            client.fetch_from(KIWOOM, "short_selling", symbols[1], DAY, DAY)
            frame, seconds = _collect(client, dataset, symbols)
            return frame, seconds, client.source_metadata()["symbols_by_source"]
        finally:
            client.close()
