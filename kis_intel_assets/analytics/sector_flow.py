"""Sector money flow per KRX 업종 and day: net flows, intensity, sector MFI, index returns and z-scores.

Definitions (all point in time: a stock counts for the sector of its stock_master row valid that day):
- foreign/institution/individual_flow: Σ *_net_value of members with an investor_trends row (KRW). NaN,
  not 0, when no member has one; `flow_member_count` says how many members contributed.
- market_cap: Σ close × listed_shares (members with known shares); trading_value: Σ member turnover.
- flow_intensity_cap_bp: (foreign + institution) flow / market cap in basis points (daily smart-money flows
  are ~0.01% of cap, too small for percent); flow_intensity_turnover_pct: the same flow / turnover in %.
- flow_z20 / flow_z60: causal rolling z-scores of flow_intensity_cap_bp over the sector's last 20 / 60
  rows including T (sample std); a value needs the full window (min periods = window) and is NaN when the
  window is flat. Scaling by cap first makes the z-score comparable as a sector grows.
- sector_return_pct / market_return_pct: daily return of a cap-weighted index of the sector / of its market
  (all stocks of that market). Matched pairs: Σ shares·close_T / Σ shares·close_prev over stocks that are
  members on T, have known shares and a previous bar, with T's shares on both sides, so listings, sector
  moves and share-count changes never show up as returns. A stock's previous bar is its own previous row,
  so a suspension's price gap lands on the day trading resumes. Closes are taken as given (not adjusted).
- money_flow_index: sector MFI (TA-Lib conventions of mfi.py, period 14) with raw flow Σ TP_i × V_i over
  members and the bar direction from the sign of the change of the cap-weighted typical-price index
  (matched pairs as above, Σ shares·TP). Cap weighting matches the price index used for RS, so MFI and RRG
  agree on whether the sector went up; turnover weighting would let one hot small cap flip the sign.
- volume_change_pct: Σ volume_T / Σ volume_prev − 1 over members with a previous bar (matched pairs, so a
  stock joining the sector is not read as a volume surge). Day over day, to flag today's change; the
  z-scores provide the longer-baseline view.
- market: the market most members trade on (sector codes are market-specific in practice).

`time` in the output is datetime64[ns] (normalised dates); inputs may hold datetime.date or datetime64.
A Dagster partition for day T needs SECTOR_FLOW_LOOKBACK_DAYS trading days before T to reproduce the full
recompute exactly; compute the window with `sector_money_flow` and keep T with `rows_for_day`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kis_intel_assets.analytics._frames import (
    DayLike,
    as_dates,
    group_positions,
    grouped_shift,
    rolling_zscore,
    to_day,
)
from kis_intel_assets.analytics.mfi import DEFAULT_PERIOD, mfi_from_direction, typical_price
from kis_intel_assets.analytics.stock_panel import build_stock_panel
from kis_intel_assets.markets import MARKETS

ZSCORE_WINDOWS = (20, 60)
SECTOR_FLOW_LOOKBACK_DAYS = max(*ZSCORE_WINDOWS, DEFAULT_PERIOD + 1) - 1
SECTOR_FLOW_COLUMNS = (
    "time", "sector_code", "sector_name", "market", "member_count", "flow_member_count",
    "money_flow_index", "foreign_flow", "institution_flow", "individual_flow", "volume_change_pct",
    "market_cap", "trading_value", "flow_intensity_cap_bp", "flow_intensity_turnover_pct",
    "flow_z20", "flow_z60", "sector_return_pct", "market_return_pct",
)  # fmt: skip


def _sum_by(key: np.ndarray, size: int, weights: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    if mask is not None:
        return np.bincount(key[mask], weights=weights[mask], minlength=size)
    return np.bincount(key, weights=weights, minlength=size)


def _ratio_change(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(before > 0, (now / before - 1.0) * 100.0, np.nan)


def _nullable_int(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.round(values), dtype="Int64")


def _dense_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct day numbers and each row's index among them, in O(n) (day numbers span a small range)."""
    offset = days - days.min()
    seen = np.bincount(offset) > 0
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen) + days.min(), rank[offset]


def sector_money_flow(
    stock_master: pd.DataFrame,
    daily_prices: pd.DataFrame,
    investor_trends: pd.DataFrame,
    mfi_period: int = DEFAULT_PERIOD,
) -> pd.DataFrame:
    """One row per (time, sector_code) for every day of the inputs, columns SECTOR_FLOW_COLUMNS."""
    panel = build_stock_panel(stock_master, daily_prices, investor_trends)
    if len(panel) == 0:
        raise ValueError("no daily_prices row has a stock_master row valid on its day")
    day_values, day_index = _dense_days(panel.days)
    sector_index, sector_codes = panel.master_codes("sector_code")
    market_codes, market_labels = panel.master_codes("market")
    market_index = pd.Index(MARKETS).get_indexer(market_labels)[market_codes]
    n_days, n_sectors = len(day_values), len(sector_codes)
    key = day_index * n_sectors + sector_index
    size = n_days * n_sectors

    positions, values = panel.positions, panel.values
    close, volume, shares = values["close"], values["volume"], values["listed_shares"]
    tp = typical_price(values["high"], values["low"], close)
    prev_close, prev_tp = grouped_shift(close, positions, 1), grouped_shift(tp, positions, 1)
    prev_volume = grouped_shift(volume, positions, 1)
    has_prev = ~np.isnan(prev_close)
    with_shares = ~np.isnan(shares)
    matched = has_prev & with_shares

    members = np.bincount(key, minlength=size)
    present = np.flatnonzero(members)
    out: dict[str, object] = {"member_count": members[present]}
    flows = {}
    # investor_trends' retail_* (RFC-010) feed sector_rotation's individual_flow, whose name stays.
    named = (("foreign", "foreign"), ("institution", "institution"), ("retail", "individual"))
    for investor, column in named:
        net = values[f"{investor}_net_value"]
        known = ~np.isnan(net)
        total = _sum_by(key, size, net, known)[present]
        count = np.bincount(key[known], minlength=size)[present]
        flows[investor] = np.where(count > 0, total, np.nan)
        out[f"{column}_flow"] = _nullable_int(flows[investor])
    has_flow = ~np.isnan(values["foreign_net_value"]) | ~np.isnan(values["institution_net_value"])
    out["flow_member_count"] = np.bincount(key[has_flow], minlength=size)[present]
    market_cap = _sum_by(key, size, close * shares, with_shares)[present]
    market_cap = np.where(np.bincount(key[with_shares], minlength=size)[present] > 0, market_cap, np.nan)
    turnover = _sum_by(key, size, values["trading_value"])[present]
    out["market_cap"] = _nullable_int(market_cap)
    out["trading_value"] = _nullable_int(turnover)
    smart = np.where(
        np.isnan(flows["foreign"]) & np.isnan(flows["institution"]),
        np.nan,
        np.nan_to_num(flows["foreign"]) + np.nan_to_num(flows["institution"]),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["flow_intensity_cap_bp"] = np.where(market_cap > 0, smart / market_cap * 1e4, np.nan)
        out["flow_intensity_turnover_pct"] = np.where(turnover > 0, smart / turnover * 100.0, np.nan)
    out["volume_change_pct"] = _ratio_change(
        _sum_by(key, size, volume, has_prev)[present], _sum_by(key, size, prev_volume, has_prev)[present]
    )
    out["sector_return_pct"] = _ratio_change(
        _sum_by(key, size, shares * close, matched)[present],
        _sum_by(key, size, shares * prev_close, matched)[present],
    )
    tp_direction = np.sign(
        _sum_by(key, size, shares * tp, matched)[present]
        - _sum_by(key, size, shares * prev_tp, matched)[present]
    )
    tp_flow = _sum_by(key, size, tp * volume)[present]

    market_key = day_index * len(MARKETS) + market_index
    market_size = n_days * len(MARKETS)
    market_return = _ratio_change(
        _sum_by(market_key, market_size, shares * close, matched),
        _sum_by(market_key, market_size, shares * prev_close, matched),
    )
    votes = np.bincount(key * len(MARKETS) + market_index, minlength=size * len(MARKETS))
    sector_market = votes.reshape(size, len(MARKETS))[present].argmax(axis=1)
    present_day = present // n_sectors
    out["market_return_pct"] = market_return[present_day * len(MARKETS) + sector_market]

    name_codes, names = panel.master_codes("sector_name")
    name_by_key = np.zeros(size, dtype=np.int64)
    name_by_key[key] = name_codes
    frame = pd.DataFrame(
        {
            "time": as_dates(day_values[present_day]),
            "sector_code": sector_codes.take(present % n_sectors),
            "sector_name": names.take(name_by_key[present]),
            "market": np.asarray(MARKETS, dtype=object)[sector_market],
            **out,
        }
    )
    # Rows are day-major; per-sector rolling statistics need sector-major order.
    order = np.lexsort((present_day, present % n_sectors))
    frame = frame.iloc[order].reset_index(drop=True)
    sector_runs = (present % n_sectors)[order]
    run_positions = group_positions(sector_runs)
    frame["money_flow_index"] = mfi_from_direction(
        tp_direction[order], tp_flow[order], run_positions, mfi_period
    )
    intensity = frame["flow_intensity_cap_bp"].to_numpy()
    for window in ZSCORE_WINDOWS:
        frame[f"flow_z{window}"] = rolling_zscore(intensity, sector_runs, window, window)
    return frame.loc[:, list(SECTOR_FLOW_COLUMNS)]


def rows_for_day(frame: pd.DataFrame, day: DayLike) -> pd.DataFrame:
    """The rows of one day (a Dagster partition) from a frame computed over a trailing window."""
    wanted = as_dates(np.array([to_day(day)]))[0]
    return frame.loc[frame["time"] == wanted].reset_index(drop=True)
