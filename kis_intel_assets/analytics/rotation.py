"""Sector rotation: RRG state, INFLOW/OUTFLOW/NEUTRAL signals and their transitions, from sector_flow rows.

RRG on daily bars (docs/rotation_method.md §3), with causal rolling normalisation as in RRG-Lite, never
full-sample:
- Sector and market index levels are chained from sector_flow's cap-weighted daily returns over the rows
  given; RS = 100 · sector level / market level (the sector's own market: KOSPI or KOSDAQ). Chaining from
  the first row only rescales RS by a constant, which every z-score below cancels, so a trailing window
  reproduces the full-history values. A missing return (no matched members) leaves the level unchanged.
- RS-Ratio = 100 + z(RS) over the last 50 rows (≈10 weeks, the low end of the weekly 10-14 convention,
  so the daily state still turns within a quarter); RS-Momentum = 100 + z(ROC) over 20 rows, where ROC is
  the 5-day (one week) percent change of RS-Ratio. z uses the sample std, includes T, needs a full window.
- Quadrants: Leading (ratio ≥ 100, momentum ≥ 100), Weakening (≥, <), Lagging (<, <), Improving (<, ≥).

Two signals per sector-day, both stored:
- flow-weighted (method "flow"): score = flow_weight · clip(mean(flow_z20, flow_z60), ±3) + (1 −
  flow_weight) · price_score; flow_z60 is left out of the mean while it is not yet defined. INFLOW when the
  score ≥ threshold and flow_z20 ≥ confirmation; OUTFLOW symmetrically; NEUTRAL otherwise.
- price-only (method "price", columns price_signal / price_score): price_score = clip(mean(RS-Ratio − 100,
  RS-Momentum − 100), ±3). INFLOW when RS-Momentum ≥ 100 (Improving or Leading, the side a sector enters
  Leading from) and price_score ≥ threshold; OUTFLOW when RS-Momentum < 100 (Weakening or Lagging) and
  price_score ≤ −threshold. It needs prices only, so it runs when flows are missing or flat.
RotationConfig.method picks the `signal` column: "auto" (default) takes the flow-weighted signal wherever
flow_z20 is defined and the price-only one elsewhere; "flow" keeps only rows with flows; "price" uses the
price-only signal everywhere. `signal_method` says which one each row holds. The constants are fixed a
priori (1σ thresholds, flows weighted above price because they are the leading input) and never fitted to
the data the scorecard evaluates. Rows without enough history for a score get no signal row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    group_positions,
    grouped_shift,
    require_columns,
    rolling_zscore,
)
from kis_intel_assets.analytics.sector_flow import SECTOR_FLOW_LOOKBACK_DAYS

QUADRANTS = ("Leading", "Weakening", "Lagging", "Improving")
SIGNALS = ("INFLOW", "OUTFLOW", "NEUTRAL")
METHODS = ("auto", "flow", "price")
SIGNAL_COLUMNS = (
    "time", "sector_code", "signal", "score", "reason", "rs_ratio", "rs_momentum", "quadrant",
    "flow_z20", "flow_z60", "signal_method", "price_signal", "price_score",
)  # fmt: skip
TRANSITION_COLUMNS = ("time", "sector_code", "kind", "from_state", "to_state")
_Z_CLIP = 3.0


@dataclass(frozen=True)
class RotationConfig:
    rs_ratio_window: int = 50
    momentum_roc_days: int = 5
    rs_momentum_window: int = 20
    flow_weight: float = 0.6
    signal_threshold: float = 1.0
    flow_confirmation_z: float = 1.0
    method: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"RotationConfig.method must be one of {METHODS}, got {self.method!r}")

    @property
    def lookback_days(self) -> int:
        """Trading days before T a partition must read so T's signal and transitions equal a full run."""
        rrg = self.rs_ratio_window + self.momentum_roc_days + self.rs_momentum_window - 2
        return max(rrg, SECTOR_FLOW_LOOKBACK_DAYS) + 1


def _sector_order(sector_flow: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    frame = sector_flow.sort_values(["sector_code", "time"], kind="stable").reset_index(drop=True)
    codes = pd.factorize(frame["sector_code"], sort=True)[0]
    return frame, codes, group_positions(codes)


def log_levels(returns_pct: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Log index level per run, 0 at the run's first row; NaN returns leave the level unchanged."""
    growth = np.log1p(np.nan_to_num(returns_pct, nan=0.0) / 100.0)
    growth[positions == 0] = 0.0
    cumulative = np.cumsum(growth)
    run_start = np.arange(len(positions)) - positions
    return cumulative - cumulative[run_start] if len(cumulative) else cumulative


def _quadrant(rs_ratio: np.ndarray, rs_momentum: np.ndarray) -> np.ndarray:
    right, up = rs_ratio >= 100.0, rs_momentum >= 100.0
    known = ~np.isnan(rs_ratio) & ~np.isnan(rs_momentum)
    labels = np.select([right & up, right & ~up, ~right & ~up], QUADRANTS[:3], default=QUADRANTS[3])
    labels = labels.astype(object)
    labels[~known] = None
    return labels


def relative_rotation(sector_flow: pd.DataFrame, config: RotationConfig | None = None) -> pd.DataFrame:
    """RRG state per (time, sector_code) row of sector_flow: time, sector_code, market, rs, rs_ratio,
    rs_momentum, quadrant."""
    config = config or RotationConfig()
    require_columns(
        sector_flow,
        ("time", "sector_code", "market", "sector_return_pct", "market_return_pct"),
        "sector_flow",
    )
    frame, codes, positions = _sector_order(sector_flow)
    relative = log_levels(frame["sector_return_pct"].to_numpy(float), positions) - log_levels(
        frame["market_return_pct"].to_numpy(float), positions
    )
    rs = 100.0 * np.exp(relative)
    rs_ratio = 100.0 + rolling_zscore(rs, codes, config.rs_ratio_window, config.rs_ratio_window)
    with np.errstate(invalid="ignore", divide="ignore"):
        roc = 100.0 * (rs_ratio / grouped_shift(rs_ratio, positions, config.momentum_roc_days) - 1.0)
    rs_momentum = 100.0 + rolling_zscore(roc, codes, config.rs_momentum_window, config.rs_momentum_window)
    return pd.DataFrame(
        {
            "time": frame["time"],
            "sector_code": frame["sector_code"],
            "market": frame["market"],
            "rs": rs,
            "rs_ratio": rs_ratio,
            "rs_momentum": rs_momentum,
            "quadrant": _quadrant(rs_ratio, rs_momentum),
        }
    )


def _krw_eok(value: float) -> str:
    return "n/a" if value != value else f"{value / 1e8:+,.1f}억원"  # value != value: NaN


def _reasons(frame: pd.DataFrame, smart_flow: np.ndarray) -> list[str]:
    # Plain Python floats format several times faster than numpy scalars; this runs once per sector-day.
    columns = zip(
        frame["signal"].tolist(), frame["signal_method"].tolist(), smart_flow.tolist(),
        frame["flow_z20"].tolist(), frame["flow_z60"].tolist(), frame["rs_ratio"].tolist(),
        frame["rs_momentum"].tolist(), frame["quadrant"].tolist(), strict=True,
    )  # fmt: skip
    return [
        (
            f"{signal} (price only): "
            if method == "price"
            else f"{signal}: foreign+institution net {_krw_eok(flow)} ({z20:+.1f}σ 20d, "
            + ("n/a" if z60 != z60 else f"{z60:+.1f}σ")
            + " 60d); "
        )
        + f"RS-Ratio {ratio:.1f}, RS-Momentum {momentum:.1f} ({quadrant})"
        for signal, method, flow, z20, z60, ratio, momentum, quadrant in columns
    ]


def _labels(score: np.ndarray, confirm: np.ndarray, confirmation: float, threshold: float) -> np.ndarray:
    """INFLOW / OUTFLOW where score passes ±threshold and `confirm` passes ±confirmation, else NEUTRAL."""
    inflow = (score >= threshold) & (confirm >= confirmation)
    outflow = (score <= -threshold) & (confirm <= -confirmation)
    return np.select([inflow, outflow], SIGNALS[:2], default=SIGNALS[2])


def rotation_signals(sector_flow: pd.DataFrame, config: RotationConfig | None = None) -> pd.DataFrame:
    """Signal rows (SIGNAL_COLUMNS) for every sector-day with enough history for the configured method."""
    config = config or RotationConfig()
    require_columns(sector_flow, ("flow_z20", "flow_z60", "foreign_flow", "institution_flow"), "sector_flow")
    rrg = relative_rotation(sector_flow, config)
    frame, _, _ = _sector_order(sector_flow)
    z20 = frame["flow_z20"].astype("Float64").to_numpy(float, na_value=np.nan)
    z60 = frame["flow_z60"].astype("Float64").to_numpy(float, na_value=np.nan)
    flow_part = np.clip(np.where(np.isnan(z60), z20, (z20 + z60) / 2.0), -_Z_CLIP, _Z_CLIP)
    price_score = np.clip(
        ((rrg["rs_ratio"] - 100.0) + (rrg["rs_momentum"] - 100.0)).to_numpy() / 2.0, -_Z_CLIP, _Z_CLIP
    )
    flow_score = config.flow_weight * flow_part + (1.0 - config.flow_weight) * price_score
    flow_signal = _labels(flow_score, z20, config.flow_confirmation_z, config.signal_threshold)
    momentum_side = np.where(rrg["rs_momentum"].to_numpy() >= 100.0, 1.0, -1.0)
    price_signal = _labels(price_score, momentum_side, 1.0, config.signal_threshold)
    use_flow = ~np.isnan(flow_score) if config.method != "price" else np.zeros(len(frame), dtype=bool)
    result = rrg.assign(
        signal=np.where(use_flow, flow_signal, price_signal),
        score=np.where(use_flow, flow_score, price_score),
        flow_z20=z20,
        flow_z60=z60,
        signal_method=np.where(use_flow, "flow", "price"),
        price_signal=price_signal,
        price_score=price_score,
    )
    foreign = frame["foreign_flow"].astype("Float64").to_numpy(float, na_value=np.nan)
    institution = frame["institution_flow"].astype("Float64").to_numpy(float, na_value=np.nan)
    smart_flow = np.where(
        np.isnan(foreign) & np.isnan(institution), np.nan, np.nan_to_num(foreign) + np.nan_to_num(institution)
    )
    keep = ~np.isnan(price_score) & (use_flow | (config.method != "flow"))
    result = result.loc[keep].reset_index(drop=True)
    result["reason"] = _reasons(result, smart_flow[keep])
    return result.loc[:, list(SIGNAL_COLUMNS)]


def rotation_transitions(signals: pd.DataFrame) -> pd.DataFrame:
    """Quadrant and signal changes between a sector's consecutive signal rows, columns TRANSITION_COLUMNS."""
    require_columns(signals, ("time", "sector_code", "signal", "quadrant"), "signals")
    frame, _, positions = _sector_order(signals)
    parts = []
    for kind in ("quadrant", "signal"):
        state = frame[kind].to_numpy(object)
        previous = np.empty(len(state), dtype=object)
        previous[1:] = state[:-1]
        previous[positions == 0] = None
        changed = (positions > 0) & pd.notna(state) & pd.notna(previous) & (state != previous)
        parts.append(
            pd.DataFrame(
                {
                    "time": frame["time"].to_numpy()[changed],
                    "sector_code": frame["sector_code"].to_numpy()[changed],
                    "kind": kind,
                    "from_state": previous[changed],
                    "to_state": state[changed],
                }
            )
        )
    transitions = pd.concat(parts, ignore_index=True)
    return transitions.sort_values(["time", "sector_code", "kind"], kind="stable").reset_index(drop=True)
