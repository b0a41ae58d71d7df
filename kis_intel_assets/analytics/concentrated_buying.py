"""외국인/기관 집중 매수: foreign or institutional net buying that is unusual for the stock itself.

Per stock, day T and investor (foreign, institution), over the stock's own trading rows:
- net_value_5d: Σ net value over the last `window_days` rows including T (NaN if any is missing);
- pct_of_market_cap: net_value_5d / (close_T × listed shares valid on T) in percent;
- zscore: net_value_5d against the stock's own distribution of `window_days` sums over the
  `baseline_days` rows ending `window_days` rows before T (so the baseline never overlaps the window it
  judges, and a streak cannot dilute its own z-score); needs `min_baseline_days` baseline values;
- consecutive_days: net-buy (> 0) days in a row ending at T.
A row is flagged when net_value_5d ≥ min_net_value, consecutive_days ≥ min_consecutive_days,
pct_of_market_cap ≥ min_pct_of_market_cap and zscore ≥ min_zscore. Both size tests are required: the
share of cap says the buying is material, the z-score says it is unusual for this stock. Alone, the
z-test fires on ~0.5% of stock-days by chance (a dozen names a day in a 2,500-stock market) and the
share-of-cap test flags every high-turnover small cap.

Defaults: a week (5 days) is the horizon Korean desks quote for 집중 매수. Daily foreign or institutional
net buying of a large cap is typically a few hundredths of a percent of its market cap, so 0.2% in a week
is several normal weeks' worth. The z-score uses a quarter (60 rows) of the stock's own weekly sums: they
overlap, so the std rests on ~12 independent weeks and the z has fat, t-like tails; 3 keeps chance hits
near 0.5% of stock-days (2 would let a high-variance stock through every few weeks). Weekly sums rather
than √5 × the daily std keep the test honest when flows persist from day to day, as foreign flows do.
Three consecutive net-buy days separate a campaign from one block trade, and 10억원 keeps tiny caps,
where a few million won is a large share of cap, off the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    grouped_rolling_mean_std,
    grouped_shift,
    grouped_window_sum,
)
from kis_intel_assets.analytics.stock_panel import build_stock_panel

INVESTORS = ("foreign", "institution")
OUTPUT_COLUMNS = (
    "time", "symbol", "investor", "net_value_5d", "pct_of_market_cap", "zscore", "consecutive_days", "reason",
)  # fmt: skip


@dataclass(frozen=True)
class ConcentratedBuyingConfig:
    window_days: int = 5
    baseline_days: int = 60
    min_baseline_days: int = 40
    min_pct_of_market_cap: float = 0.2
    min_zscore: float = 3.0
    min_consecutive_days: int = 3
    min_net_value: int = 1_000_000_000

    @property
    def lookback_days(self) -> int:
        """Trading days before T a partition must read to reproduce T's rows exactly."""
        return 2 * self.window_days + self.baseline_days - 2


def consecutive_positive(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Length of the run of values > 0 ending at each row, restarting at each entity's first row."""
    index = np.arange(len(values))
    positive = values > 0
    resets = np.where(~positive, index, np.where(positions == 0, index - 1, -1))
    last_reset = np.maximum.accumulate(resets) if len(resets) else resets
    return np.where(positive, index - last_reset, 0)


def _reason(investor: str, net: float, pct: float, z: float, days: int, window: int, baseline: int) -> str:
    return (
        f"{investor} net buy {net / 1e8:,.1f}억원 over {window}d ({pct:.2f}% of market cap, "
        f"{z:+.1f}σ vs own {baseline}d), {days} net-buy days in a row"
    )


def concentrated_buying(
    stock_master: pd.DataFrame,
    daily_prices: pd.DataFrame,
    investor_trends: pd.DataFrame,
    config: ConcentratedBuyingConfig | None = None,
) -> pd.DataFrame:
    """Flagged (stock, day, investor) rows, columns OUTPUT_COLUMNS, ordered by time and symbol."""
    config = config or ConcentratedBuyingConfig()
    panel = build_stock_panel(stock_master, daily_prices, investor_trends)
    codes, positions = panel.symbol_codes, panel.positions
    market_cap = panel.values["close"] * panel.values["listed_shares"]
    parts = []
    for investor in INVESTORS:
        net = panel.values[f"{investor}_net_value"]
        net_window = grouped_window_sum(net, positions, config.window_days)
        baseline = grouped_shift(net_window, positions, config.window_days)
        mean, std = grouped_rolling_mean_std(baseline, codes, config.baseline_days, config.min_baseline_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            zscore = np.where(std > 0, (net_window - mean) / std, np.nan)
            pct = np.where(market_cap > 0, 100.0 * net_window / market_cap, np.nan)
        streak = consecutive_positive(np.nan_to_num(net, nan=0.0), positions)
        with np.errstate(invalid="ignore"):
            flagged = (
                (net_window >= config.min_net_value)
                & (streak >= config.min_consecutive_days)
                & (pct >= config.min_pct_of_market_cap)
                & (zscore >= config.min_zscore)
            )
        rows = np.flatnonzero(flagged)
        part = pd.DataFrame(
            {
                "time": panel.times(rows),
                "symbol": panel.symbol_names(rows),
                "investor": investor,
                "net_value_5d": net_window[rows].astype(np.int64),
                "pct_of_market_cap": pct[rows],
                "zscore": zscore[rows],
                "consecutive_days": streak[rows],
            }
        )
        part["reason"] = [
            _reason(investor, n, p, z, d, config.window_days, config.baseline_days)
            for n, p, z, d in zip(part["net_value_5d"], part["pct_of_market_cap"], part["zscore"],
                                  part["consecutive_days"], strict=True)
        ]  # fmt: skip
        parts.append(part)
    result = pd.concat(parts, ignore_index=True)
    return result.sort_values(["time", "symbol", "investor"], ignore_index=True).loc[:, list(OUTPUT_COLUMNS)]
