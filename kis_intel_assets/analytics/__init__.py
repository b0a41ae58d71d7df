"""Pure computations over market DataFrames (pandas/numpy only: no Dagster, no database).

Frames use the table contract's column names (sql/001_core_tables.sql, sql/003_analytics.sql). Inputs may
carry `time` as datetime.date or datetime64; outputs carry datetime64[ns] normalised dates. Values keep full
float precision; the numeric(p, s) columns round on insert.
"""

from kis_intel_assets.analytics.concentrated_buying import ConcentratedBuyingConfig, concentrated_buying
from kis_intel_assets.analytics.mfi import money_flow_index, money_flow_index_panel
from kis_intel_assets.analytics.rotation import (
    RotationConfig,
    relative_rotation,
    rotation_signals,
    rotation_transitions,
)
from kis_intel_assets.analytics.scorecard import rotation_scorecard, wilson_interval
from kis_intel_assets.analytics.sector_flow import SECTOR_FLOW_LOOKBACK_DAYS, rows_for_day, sector_money_flow
from kis_intel_assets.analytics.short_overheat import (
    market_day_totals,
    overheat_candidates,
    quarterly_short_ratio,
    short_overheat,
)

__all__ = [
    "SECTOR_FLOW_LOOKBACK_DAYS",
    "ConcentratedBuyingConfig",
    "RotationConfig",
    "concentrated_buying",
    "market_day_totals",
    "money_flow_index",
    "money_flow_index_panel",
    "overheat_candidates",
    "quarterly_short_ratio",
    "relative_rotation",
    "rotation_scorecard",
    "rotation_signals",
    "rotation_transitions",
    "rows_for_day",
    "sector_money_flow",
    "short_overheat",
    "wilson_interval",
]
