"""Out-of-sample scorecard of the rotation signals, next to a within-date placebo and a momentum baseline.

Evaluation (docs/rotation_method.md §6):
- Signals are known after the close of T, so the forward relative return is (sector close T+h / close T)
  − (market close T+h / close T), chained from sector_flow's daily index returns over the sector's next h
  rows: the first return that counts is T+1's.
- Hit: INFLOW with a positive forward relative return, OUTFLOW with a negative one (0 is a miss). Signals
  whose horizon runs past the data are not counted. Wilson 95% interval on the hit rate; hit_rate, ci_low
  and ci_high are percent. Wilson treats signals as independent, but a sector's signals on consecutive
  days share most of their forward window, so the interval is too narrow for long runs of signals (the
  price-only rule's especially); the IC t-stat below is the overlap-aware figure.
- Rank IC: per date, Spearman correlation between score and forward relative return over all sectors with
  both (dates with fewer than MIN_IC_SECTORS are skipped); mean and std. Consecutive dates' h-day
  horizons overlap, so the ICs are autocorrelated: the t-stat uses a Newey-West (Bartlett, h − 1 lags)
  standard error instead of std / √dates, which would overstate it about √h-fold.
- signal: the stored `signal` / `score` (flow-weighted where flows exist, price-only elsewhere);
  price_only: the stored `price_signal` / `price_score` (RRG quadrant rule, prices only) on every row.
- placebo: the signal frame with its sector labels permuted within each date by a seeded RNG, scored
  against the true returns. Every date keeps its own signals, so no information from another date (and
  none from inside a forward window) can leak in: expected ~50% hit rate and ~0 IC, so it shows how much
  of the signal's figure is chance.
- momentum: score = sector's 20-day relative return ending at T; INFLOW/OUTFLOW where its cross-sectional
  z-score that day is ≥ +1 / ≤ −1 (a fixed rule, like the signal's thresholds).
- Sample size: a row with fewer than MIN_SIGNALS_TO_JUDGE counted signals is "too few signals to judge"
  (`judged` false): at n = 30 the Wilson interval around a 50% hit rate is still ±17 points, so a smaller
  n cannot tell a signal from a coin, however high its hit rate looks.
Nothing is tuned on the evaluation window: the signal thresholds are RotationConfig's fixed constants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    group_positions,
    grouped_lead,
    grouped_shift,
    positions_from_end,
    require_columns,
)
from kis_intel_assets.analytics.rotation import log_levels

HORIZONS = (5, 20)
MOMENTUM_DAYS = 20
MIN_IC_SECTORS = 3
MIN_SIGNALS_TO_JUDGE = 30
METHODS = ("signal", "price_only", "placebo", "momentum")
WILSON_Z = 1.959963984540054
SCORECARD_COLUMNS = (
    "time", "method", "horizon", "period_start", "period_end", "n_signals", "n_inflow", "n_outflow",
    "hits", "hit_rate", "ci_low", "ci_high", "mean_signed_return_pct", "mean_ic", "ic_std", "ic_t_stat",
    "n_ic_dates", "judged",
)  # fmt: skip


def wilson_interval(hits: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (as fractions); (nan, nan) without trials."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rank_ic(frame: pd.DataFrame) -> np.ndarray:
    """Per-date Spearman correlation of `score` with `forward`; one value per date with enough sectors."""
    usable = frame.dropna(subset=["score", "forward"])
    usable = usable[usable.groupby("time")["score"].transform("size") >= MIN_IC_SECTORS]
    if usable.empty:
        return np.array([])
    by_date = usable.groupby("time")
    ranks = pd.DataFrame(
        {"time": usable["time"], "x": by_date["score"].rank(), "y": by_date["forward"].rank()}
    )
    ranks["x"] -= ranks.groupby("time")["x"].transform("mean")
    ranks["y"] -= ranks.groupby("time")["y"].transform("mean")
    sums = (
        ranks.assign(xy=ranks["x"] * ranks["y"], xx=ranks["x"] ** 2, yy=ranks["y"] ** 2)
        .groupby("time")[["xy", "xx", "yy"]]
        .sum()
    )
    denominator = np.sqrt((sums["xx"] * sums["yy"]).to_numpy())
    valid = denominator > 0
    return (sums["xy"].to_numpy()[valid] / denominator[valid]).astype(float)


def forward_relative_returns(sector_flow: pd.DataFrame, horizons: tuple[int, ...] = HORIZONS) -> pd.DataFrame:
    """time, sector_code, fwd_<h> (relative return as a fraction) and momentum (20-day relative return)."""
    require_columns(
        sector_flow, ("time", "sector_code", "sector_return_pct", "market_return_pct"), "sector_flow"
    )
    frame = sector_flow.sort_values(["sector_code", "time"], kind="stable").reset_index(drop=True)
    codes = pd.factorize(frame["sector_code"], sort=True)[0]
    positions, after = group_positions(codes), positions_from_end(codes)
    sector = log_levels(frame["sector_return_pct"].to_numpy(float), positions)
    market = log_levels(frame["market_return_pct"].to_numpy(float), positions)
    out = frame[["time", "sector_code"]].copy()
    for horizon in horizons:
        out[f"fwd_{horizon}"] = np.exp(grouped_lead(sector, after, horizon) - sector) - np.exp(
            grouped_lead(market, after, horizon) - market
        )
    out["momentum"] = np.exp(sector - grouped_shift(sector, positions, MOMENTUM_DAYS)) - np.exp(
        market - grouped_shift(market, positions, MOMENTUM_DAYS)
    )
    return out


def momentum_signals(forward: pd.DataFrame) -> pd.DataFrame:
    """Baseline signal frame: score = 20-day relative return, signal from its cross-sectional z-score."""
    frame = forward[["time", "sector_code", "momentum"]].rename(columns={"momentum": "score"}).dropna()
    by_date = frame.groupby("time")["score"]
    z = (frame["score"] - by_date.transform("mean")) / by_date.transform("std")
    frame["signal"] = np.select([z >= 1.0, z <= -1.0], ["INFLOW", "OUTFLOW"], default="NEUTRAL")
    return frame


def placebo_signals(signals: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same signals with the sector labels permuted within each date by a seeded RNG.

    Each date keeps its own signals (same count of INFLOW/OUTFLOW, same scores), so nothing from another
    date can leak in; only the link between a signal and its sector's future is broken. Permuting whole
    dates instead would move a signal computed on d+k onto d, where it already holds prices from inside
    d's forward window: with persistent sector trends that "chance" row scores well above 50%.
    """
    frame = signals.sort_values(["time", "sector_code"], kind="stable").reset_index(drop=True)
    day_codes = pd.factorize(frame["time"], sort=True)[0]
    keys = np.random.default_rng(seed).random(len(frame))
    order = np.lexsort((keys, day_codes))  # rows of the same date stay in that date's block
    return frame.assign(sector_code=frame["sector_code"].to_numpy()[order])


def newey_west_t_stat(values: np.ndarray, lags: int) -> float:
    """Mean / HAC standard error with Bartlett weights; nan for fewer than two values or zero variance."""
    n = len(values)
    if n < 2:
        return float("nan")
    centred = values - values.mean()
    variance = centred @ centred / n
    for lag in range(1, min(lags, n - 1) + 1):
        variance += 2.0 * (1.0 - lag / (lags + 1)) * (centred[lag:] @ centred[:-lag]) / n
    return float(values.mean() / np.sqrt(variance / n)) if variance > 0 else float("nan")


def _evaluate(signals: pd.DataFrame, forward: pd.DataFrame, horizon: int) -> dict[str, float | int]:
    joined = signals[["time", "sector_code", "signal", "score"]].merge(
        forward[["time", "sector_code", f"fwd_{horizon}"]].rename(columns={f"fwd_{horizon}": "forward"}),
        on=["time", "sector_code"],
        how="inner",
    )
    direction = joined["signal"].map({"INFLOW": 1.0, "OUTFLOW": -1.0}).fillna(0.0).to_numpy()
    counted = (direction != 0) & joined["forward"].notna().to_numpy()
    signed = direction[counted] * joined["forward"].to_numpy()[counted]
    n, hits = int(counted.sum()), int((signed > 0).sum())
    low, high = wilson_interval(hits, n)
    ic = rank_ic(joined)
    ic_std = float(ic.std(ddof=1)) if len(ic) > 1 else float("nan")
    return {
        "n_signals": n,
        "n_inflow": int((counted & (direction > 0)).sum()),
        "n_outflow": int((counted & (direction < 0)).sum()),
        "hits": hits,
        "hit_rate": 100.0 * hits / n if n else float("nan"),
        "ci_low": 100.0 * low,
        "ci_high": 100.0 * high,
        "mean_signed_return_pct": 100.0 * float(signed.mean()) if n else float("nan"),
        "mean_ic": float(ic.mean()) if len(ic) else float("nan"),
        "ic_std": ic_std,
        "ic_t_stat": newey_west_t_stat(ic, horizon - 1),
        "n_ic_dates": len(ic),
        "judged": n >= MIN_SIGNALS_TO_JUDGE,
    }


def rotation_scorecard(
    signals: pd.DataFrame, sector_flow: pd.DataFrame, horizons: tuple[int, ...] = HORIZONS, seed: int = 0
) -> pd.DataFrame:
    """Rows (SCORECARD_COLUMNS) for every method of METHODS × horizons over all history given."""
    require_columns(signals, ("time", "sector_code", "signal", "score"), "signals")
    if sector_flow.empty:
        raise ValueError("sector_flow is empty; there is nothing to evaluate")
    forward = forward_relative_returns(sector_flow, horizons)
    methods = {"signal": signals}
    if {"price_signal", "price_score"} <= set(signals.columns):
        price = signals.dropna(subset=["price_signal", "price_score"])
        methods["price_only"] = price.assign(signal=price["price_signal"], score=price["price_score"])
    methods["placebo"] = placebo_signals(signals, seed)
    methods["momentum"] = momentum_signals(forward)
    rows = []
    for method, frame in methods.items():
        for horizon in horizons:
            rows.append(
                {
                    "time": sector_flow["time"].max(),
                    "method": method,
                    "horizon": horizon,
                    "period_start": sector_flow["time"].min(),
                    "period_end": sector_flow["time"].max(),
                    **_evaluate(frame, forward, horizon),
                }
            )
    return pd.DataFrame(rows, columns=list(SCORECARD_COLUMNS))
