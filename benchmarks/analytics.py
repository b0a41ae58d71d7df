"""Speed of the analytics layer on a synthetic market: full recompute, one partition, a Python-loop baseline.

Targets (2 cores): full recompute of 10 years × 2,500 symbols (stock MFI, sector flow, RRG, signals,
transitions) < 10 s; one partition (day T with its trailing window) < 1 s. The baseline is a plain
per-symbol / per-row Python loop for stock MFI and sector aggregation, timed on a subset of symbols and
compared with the vectorised code on the same subset.

Rows: {"benchmark", "value", "unit", "ratio", "note"}; `ratio` is value / target for targeted rows and the
speed-up over the Python loop for the baseline row.

Scorecard rows (issue 16): the hit rate of every scorecard method (signal, price_only, placebo, momentum)
at 5 and 20 days, with n and the Wilson 95% CI, on
- the default demo (`kis-intel demo`: seed 7, 300 stocks, 160 trading days, the same partition windows),
- three years of simulator history (planted rotation episodes at the default density, and one episode
  every ~4 trading days),
- a replay of that history's closes through the replay path (flows generated from the replayed prices:
  the planted flow episodes no longer move those prices, so every row should be near chance),
- the synthetic pure-noise market above (flows carry no information: every row ≈ 50%).
The data comes from the simulator's ground truth, which is what the pipeline ingests; the pipeline's
signals equal the pure recompute (kis_intel_assets_tests/defs/analytics).
Run: `.venv/bin/python -m benchmarks --only analytics [--quick]`.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from kis_intel_assets.analytics import (
    RotationConfig,
    concentrated_buying,
    money_flow_index_panel,
    overheat_candidates,
    rotation_scorecard,
    rotation_signals,
    rotation_transitions,
    rows_for_day,
    sector_money_flow,
    short_overheat,
)
from kis_intel_assets.analytics.sector_flow import SECTOR_FLOW_LOOKBACK_DAYS
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.demo import demo_window, last_final_day
from kis_intel_assets.simulator import EpisodeParams, SimulatorConfig
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.truth import GroundTruth

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
            "retail_net_value": -(foreign + institution),
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
            "short_amount": short,
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
        (row.symbol, row.time): (row.foreign_net_value, row.institution_net_value, row.retail_net_value)
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


def simulator_history(config: SimulatorConfig, first: date, last: date) -> tuple[History, MarketModel]:
    """What the pipeline would ingest from a simulator (its ground truth) for first..last."""
    model = MarketModel(config)
    truth = GroundTruth(model)
    prices = truth.daily_prices(first, last)
    flows = truth.investor_trends(first, last)[
        ["time", "symbol", "foreign_net_value", "institution_net_value", "retail_net_value"]
    ]
    return History(truth.stock_master(), prices, flows, pd.DataFrame()), model


def replayed(history: History, model: MarketModel, seed: int) -> History:
    """The same closes, volumes, markets and sectors replayed from a prices.csv (flows regenerated)."""
    master = history.stock_master.drop_duplicates("symbol")[["symbol", "market", "sector_code", "name"]]
    rows = history.daily_prices.merge(master, on="symbol").rename(
        columns={"time": "date", "sector_code": "sector"}
    )
    with tempfile.TemporaryDirectory() as folder:
        rows.to_csv(Path(folder) / "prices.csv", index=False)
        config = SimulatorConfig(replay_dir=folder, seed=seed)
        days = model.days
        replay, _ = simulator_history(config, days[0].astype(date), days[-1].astype(date))
    return replay


def scorecard_rows(label: str, history: History, flow_from: int = 0, signal_from: int = 0) -> list[dict]:
    """Every scorecard row of one history; flow_from / signal_from mirror the partitions a run computes."""
    days = np.sort(pd.to_datetime(history.daily_prices["time"]).unique())
    flow = sector_money_flow(history.stock_master, history.daily_prices, history.investor_trends)
    flow = flow[flow["time"] >= days[flow_from]]
    signals = rotation_signals(flow)
    signals = signals[signals["time"] >= days[signal_from]]
    card = rotation_scorecard(signals, flow)
    sectors = flow["sector_code"].nunique()
    return [
        {"benchmark": f"scorecard {label}: {row.method} {row.horizon}d", "value": row.hit_rate,
         "unit": "% hit", "ratio": None,
         "note": f"n={row.n_signals}, CI {row.ci_low:.1f}-{row.ci_high:.1f}, IC {row.mean_ic:+.3f} "
                 f"(t {row.ic_t_stat:+.1f}){'' if row.judged else ', too few signals to judge'}; "
                 f"{len(days)} days, {sectors} sectors"}
        for row in card.itertuples()
    ]  # fmt: skip


def scorecards(quick: bool) -> list[dict]:
    """The scorecard on the default demo, on simulator history with episodes, on its replay, on noise."""
    window = demo_window(160, last_final_day(datetime.now(SEOUL)))
    demo_config = SimulatorConfig(seed=7, n_symbols=300, start=window[0] - timedelta(days=30), end=window[-1])
    demo, _ = simulator_history(demo_config, window[0], window[-1])
    flow_from = SECTOR_FLOW_LOOKBACK_DAYS + 1
    rows = scorecard_rows("default demo", demo, flow_from, flow_from + RotationConfig().lookback_days + 1)
    years = (date(2024, 1, 2), date(2024, 12, 30)) if quick else (date(2022, 6, 2), date(2025, 6, 30))
    long_config = SimulatorConfig(seed=7, n_symbols=150 if quick else 300, start=years[0], end=years[1])
    history, model = simulator_history(long_config, *years)
    span = f"{years[0].year}-{years[1].year}"
    rows += scorecard_rows(f"simulator {span}", history)
    rows += scorecard_rows("replay of those closes", replayed(history, model, seed=7))
    # The default plants one episode per ~40 days over ~44 sectors: too few to move a pooled hit rate.
    dense = dataclasses.replace(long_config, episodes=EpisodeParams(spacing_days=4, spacing_jitter=3))
    rows += scorecard_rows(f"simulator {span}, an episode every ~4 days", simulator_history(dense, *years)[0])
    rows += scorecard_rows("pure-noise flows", synthetic_history(300, 500 if quick else 1_000, seed=3))
    return rows


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
        ("overheat_candidates over all history", lambda: overheat_candidates(history.short_daily)),
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
    return rows + scorecards(quick)
