"""Speed of the analytics layer on a synthetic market: full recompute, one partition, a Python-loop baseline.

Targets (2 cores): full recompute of 10 years × 2,500 symbols (stock MFI, sector flow, RRG, signals,
transitions) < 10 s; one partition (day T with its trailing window) < 1 s. The baseline is a plain
per-symbol / per-row Python loop for stock MFI and sector aggregation, timed on a subset of symbols and
compared with the vectorised code on the same subset.

Rows: {"benchmark", "value", "unit", "ratio", "note"}; `ratio` is value / target for targeted rows and the
speed-up over the Python loop for the baseline row.
Run: `.venv/bin/python -m benchmarks --only analytics [--quick]`.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kis_intel_assets.analytics import (
    RotationConfig,
    concentrated_buying,
    money_flow_index_panel,
    rotation_scorecard,
    rotation_signals,
    rotation_transitions,
    rows_for_day,
    sector_money_flow,
    short_overheat,
)

FULL_TARGET_S, PARTITION_TARGET_S = 10.0, 1.0
KOSPI_SECTORS, KOSDAQ_SECTORS = 22, 22


@dataclass(frozen=True)
class History:
    stock_master: pd.DataFrame
    daily_prices: pd.DataFrame
    investor_trends: pd.DataFrame
    short_daily: pd.DataFrame


def synthetic_history(n_symbols: int, n_days: int, seed: int = 0) -> History:
    """A KOSPI/KOSDAQ-like panel built with array operations only: listings, sector moves, flows, shorts."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2015-01-02", periods=n_days).to_numpy()
    symbols = np.array([f"{i:06d}" for i in range(100_000, 100_000 + n_symbols)], dtype=object)
    kospi = np.arange(n_symbols) < int(n_symbols * 0.4)
    sector = np.where(
        kospi,
        rng.integers(0, KOSPI_SECTORS, n_symbols),
        KOSPI_SECTORS + rng.integers(0, KOSDAQ_SECTORS, n_symbols),
    )
    sector_codes = np.array(
        [f"{5 + s:04d}" for s in range(KOSPI_SECTORS)] + [f"{1005 + s:04d}" for s in range(KOSDAQ_SECTORS)],
        dtype=object,
    )

    returns = rng.normal(0, 0.01, (n_days, 1)) + rng.normal(0, 0.02, (n_days, n_symbols))
    close = np.maximum(np.round(np.exp(np.cumsum(returns, axis=0)) * rng.uniform(2e3, 2e5, n_symbols)), 1)
    spread = np.abs(rng.normal(0, 0.012, close.shape))
    high, low = np.round(close * (1 + spread)), np.maximum(np.round(close * (1 - spread)), 1)
    volume = np.round(rng.lognormal(11, 1, close.shape))
    trading_value = close * volume
    listed_from = np.where(rng.random(n_symbols) < 0.1, rng.integers(0, n_days, n_symbols), 0)
    listed = np.arange(n_days)[:, None] >= listed_from[None, :]

    day_index, symbol_index = np.nonzero(listed)
    take = (day_index, symbol_index)
    prices = pd.DataFrame(
        {
            "time": days[day_index],
            "symbol": symbols[symbol_index],
            "open": close[take].astype(np.int64),
            "high": high[take].astype(np.int64),
            "low": low[take].astype(np.int64),
            "close": close[take].astype(np.int64),
            "volume": volume[take].astype(np.int64),
            "trading_value": trading_value[take].astype(np.int64),
        }
    )
    tv = prices["trading_value"].to_numpy()
    foreign = np.round(rng.normal(0, 0.05, len(tv)) * tv).astype(np.int64)
    institution = np.round(rng.normal(0, 0.04, len(tv)) * tv).astype(np.int64)
    flows = pd.DataFrame(
        {
            "time": prices["time"],
            "symbol": prices["symbol"],
            "foreign_net_value": foreign,
            "institution_net_value": institution,
            "individual_net_value": -(foreign + institution),
        }
    )
    short = np.round(tv * rng.beta(1.2, 40, len(tv))).astype(np.int64)
    shorts = pd.DataFrame(
        {
            "time": prices["time"],
            "symbol": prices["symbol"],
            "market": np.where(kospi, "KOSPI", "KOSDAQ")[symbol_index],
            "close": prices["close"],
            "trading_value": tv,
            "short_value": short,
            "short_ratio": np.round(100.0 * short / np.maximum(tv, 1), 2),
        }
    )
    movers = np.flatnonzero(rng.random(n_symbols) < 0.05)
    master = pd.DataFrame(
        {
            "symbol": np.concatenate([symbols, symbols[movers]]),
            "valid_from": np.concatenate([days[listed_from], days[rng.integers(1, n_days, len(movers))]]),
            "market": np.where(np.concatenate([kospi, kospi[movers]]), "KOSPI", "KOSDAQ"),
            "sector_code": sector_codes[np.concatenate([sector, sector[movers] // 2 * 2])],
            "listed_shares": rng.integers(1_000_000, 500_000_000, n_symbols + len(movers)),
        }
    )
    master["sector_name"] = "업종" + master["sector_code"]
    master = master.drop_duplicates(["symbol", "valid_from"], keep="last")
    return History(master, prices, flows, shorts)


def timed(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def full_recompute(history: History) -> pd.DataFrame:
    money_flow_index_panel(history.daily_prices)
    flow = sector_money_flow(history.stock_master, history.daily_prices, history.investor_trends)
    rotation_transitions(rotation_signals(flow))
    return flow


def one_partition(history: History, day: object) -> pd.DataFrame:
    flow = sector_money_flow(history.stock_master, history.daily_prices, history.investor_trends)
    signals = rotation_signals(flow)
    rows_for_day(rotation_transitions(signals), day)
    mfi = money_flow_index_panel(history.daily_prices)
    rows_for_day(history.daily_prices[["time", "symbol"]].assign(money_flow_index=mfi), day)
    return rows_for_day(signals, day)


def window(history: History, first: object, last: object) -> History:
    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["time"] >= first) & (frame["time"] <= last)]

    return History(
        history.stock_master, cut(history.daily_prices), cut(history.investor_trends), history.short_daily
    )


def python_loop_mfi_and_sectors(history: History, period: int = 14) -> tuple[dict, dict]:
    """The straightforward baseline: per-symbol loops for MFI, per-row dictionaries for sector sums."""
    master = history.stock_master.sort_values("valid_from")
    membership: dict[str, list[tuple[object, str, int]]] = defaultdict(list)
    for row in master.itertuples(index=False):
        membership[row.symbol].append((row.valid_from, row.sector_code, row.listed_shares))
    flows = {
        (row.symbol, row.time): (row.foreign_net_value, row.institution_net_value, row.individual_net_value)
        for row in history.investor_trends.itertuples(index=False)
    }
    mfi: dict[tuple[str, object], float] = {}
    sectors: dict[tuple[object, str], list[float]] = defaultdict(lambda: [0.0] * 8)
    for symbol, bars in history.daily_prices.sort_values("time").groupby("symbol", sort=False):
        positive: deque[float] = deque()
        negative: deque[float] = deque()
        previous_tp = previous_close = None
        for bar in bars.itertuples(index=False):
            tp = (bar.high + bar.low + bar.close) / 3
            if previous_tp is not None:
                flow = tp * bar.volume
                positive.append(flow if tp > previous_tp else 0.0)
                negative.append(flow if tp < previous_tp else 0.0)
                if len(positive) > period:
                    positive.popleft()
                    negative.popleft()
                if len(positive) == period:
                    total = sum(positive) + sum(negative)
                    mfi[(symbol, bar.time)] = 100 * sum(positive) / total if total > 0 else 0.0
            rows = [m for m in membership[symbol] if m[0] <= bar.time]
            if rows:
                _, sector, shares = rows[-1]
                sums = sectors[(bar.time, sector)]
                foreign, institution, individual = flows.get((symbol, bar.time), (0, 0, 0))
                sums[0] += foreign
                sums[1] += institution
                sums[2] += individual
                sums[3] += bar.close * shares
                sums[4] += bar.trading_value
                if previous_close is not None:
                    sums[5] += bar.close * shares
                    sums[6] += previous_close * shares
                sums[7] += tp * bar.volume
            previous_tp, previous_close = tp, bar.close
    return mfi, sectors


def vectorised_mfi_and_sectors(history: History) -> None:
    money_flow_index_panel(history.daily_prices)
    sector_money_flow(history.stock_master, history.daily_prices, history.investor_trends)


def run(quick: bool) -> list[dict]:
    n_symbols, n_days = (500, 500) if quick else (2_500, 2_460)
    loop_symbols = 50 if quick else 150
    history = synthetic_history(n_symbols, n_days)
    load = os.getloadavg()[0]
    scale = f"{n_days} days × {n_symbols} symbols ({len(history.daily_prices):,} rows), load {load:.1f}"
    rows = []

    full_s, flow = timed(lambda: full_recompute(history))
    rows.append(
        {"benchmark": "full recompute: stock MFI + sector flow + RRG/signals + transitions", "value": full_s,
         "unit": "s", "ratio": full_s / FULL_TARGET_S, "note": f"{scale}; target < {FULL_TARGET_S:.0f} s"}
    )  # fmt: skip

    days = np.sort(history.daily_prices["time"].unique())
    lookback = RotationConfig().lookback_days
    day = days[-1]
    part = window(history, days[-1 - lookback], day)
    partition_s, partition_rows = timed(lambda: one_partition(part, day), repeat=3)
    expected = rows_for_day(rotation_signals(flow), day)
    matches = np.allclose(partition_rows["score"], expected["score"], rtol=1e-7)
    rows.append(
        {"benchmark": "one partition: day T from its trailing window", "value": partition_s, "unit": "s",
         "ratio": partition_s / PARTITION_TARGET_S,
         "note": f"{lookback + 1} days × {n_symbols} symbols; equals full recompute: {matches}; target < 1 s"}
    )  # fmt: skip

    signals = rotation_signals(flow)
    for name, function in (
        ("scorecard over all history", lambda: rotation_scorecard(signals, flow)),
        ("short_overheat over all history", lambda: short_overheat(history.short_daily)),
        ("concentrated_buying over all history",
         lambda: concentrated_buying(history.stock_master, history.daily_prices, history.investor_trends)),
    ):  # fmt: skip
        seconds, _ = timed(function)
        rows.append({"benchmark": name, "value": seconds, "unit": "s", "ratio": None, "note": scale})

    subset_symbols = np.sort(history.daily_prices["symbol"].unique())[:loop_symbols]
    subset = History(
        history.stock_master[history.stock_master["symbol"].isin(subset_symbols)],
        history.daily_prices[history.daily_prices["symbol"].isin(subset_symbols)],
        history.investor_trends[history.investor_trends["symbol"].isin(subset_symbols)],
        history.short_daily,
    )
    loop_s, _ = timed(lambda: python_loop_mfi_and_sectors(subset))
    vector_s, _ = timed(lambda: vectorised_mfi_and_sectors(subset), repeat=3)
    rows.append(
        {"benchmark": "Python loop baseline: stock MFI + sector sums", "value": loop_s, "unit": "s",
         "ratio": loop_s / vector_s,
         "note": f"{loop_symbols} symbols × {n_days} days; vectorised {vector_s:.3f} s; ratio = speed-up; "
                 f"all {n_symbols} symbols by the loop ≈ {loop_s * n_symbols / loop_symbols:.0f} s"}
    )  # fmt: skip
    return rows
