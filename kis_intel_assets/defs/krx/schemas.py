"""Pandera schemas of the KRX frames, run before anything is written (as for the KIS datasets).

The client already rejects a field that is missing or not a number and a net that is not buy − sell;
these add the window, the key, the ranges and the balance identities: balance ≤ listed shares and
balance_ratio = round(100 · balance / listed shares, 2).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandera.pandas as pa

from kis_intel_assets.defs.ingest.schemas import (
    NON_NEGATIVE,
    PERCENT,
    RATIO_TOLERANCE,
    SYMBOL,
    _in_window,
    _int,
    key_of,
)
from kis_intel_assets.krx.portal import INVESTOR_TYPES


def short_balance(start: date, end: date) -> pa.DataFrameSchema:
    def ratio_matches(df: pd.DataFrame) -> pd.Series:
        exact = 100 * df["balance_volume"] / df["listed_shares"].where(df["listed_shares"] > 0)
        return (df["balance_ratio"] - exact).abs() <= RATIO_TOLERANCE

    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "balance_volume": _int(NON_NEGATIVE),
            "balance_amount": _int(NON_NEGATIVE),
            "listed_shares": _int(pa.Check.gt(0)),
            "balance_ratio": pa.Column(float, PERCENT),
        },
        checks=[
            pa.Check(
                lambda df: df["balance_volume"] <= df["listed_shares"],
                name="balance_volume <= listed_shares",
                error="the short balance cannot exceed the listed shares",
            ),
            pa.Check(
                ratio_matches,
                name="balance_ratio = 100 * balance_volume / listed_shares",
                error="balance_ratio must be the balance's share of the listed shares, in per cent",
            ),
        ],
        unique=key_of("short_balance"),
        strict=True,
    )


def krx_investor_flows(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "group": pa.Column(str, pa.Check.isin(sorted(set(INVESTOR_TYPES.values())))),
            "buy": _int(NON_NEGATIVE),
            "sell": _int(NON_NEGATIVE),
            "net": _int(),
            "buy_value": _int(NON_NEGATIVE),
            "sell_value": _int(NON_NEGATIVE),
            "net_value": _int(),
        },
        checks=[
            pa.Check(
                lambda df, unit=unit: df[f"buy{unit}"] - df[f"sell{unit}"] == df[f"net{unit}"],
                name=f"net{unit} = buy{unit} - sell{unit}",
                error=f"net{unit} must equal buy{unit} - sell{unit}",
            )
            for unit in ("", "_value")
        ],
        unique=key_of("krx_investor_flows"),
        strict=True,
    )
