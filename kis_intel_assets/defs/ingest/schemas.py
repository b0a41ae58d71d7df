"""Pandera schemas for every ingested dataset, run inside the assets before a row is written.

Each schema is built for the run's date window so rows dated outside the partition are rejected too.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandera.pandas as pa

from kis_intel_assets.investor_groups import INVESTOR_GROUPS, ZERO_SUM_GROUPS

SYMBOL = pa.Column(str, pa.Check.str_matches(r"^[0-9A-Z]{6}$"), nullable=False)
NON_NEGATIVE = pa.Check.ge(0)
PERCENT = pa.Check.in_range(0, 100)
# Per-row net totals may be off by rounding at the source; the budget is a small share of gross turnover.
ZERO_SUM_TOLERANCE = 0.005


def _in_window(start: date, end: date) -> pa.Column:
    return pa.Column(
        object,
        pa.Check(
            lambda s: s.map(lambda d: isinstance(d, date) and start <= d <= end),
            error=f"date must be a trading day inside the partition window {start}..{end}",
        ),
        nullable=False,
    )


def _int(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column("int64", list(checks), nullable=nullable, coerce=False)


def _buy_sell_net(prefixes: list[str]) -> list[pa.Check]:
    """buy − sell = net, exactly, for each prefix and unit."""
    checks = []
    for prefix in prefixes:
        for unit in ("qty", "value"):
            buy, sell, net = (f"{prefix}buy_{unit}", f"{prefix}sell_{unit}", f"{prefix}net_{unit}")
            checks.append(
                pa.Check(
                    lambda df, b=buy, s=sell, n=net: df[b] - df[s] == df[n],
                    name=f"{net} = {buy} - {sell}",
                    error=f"{net} must equal {buy} - {sell}",
                )
            )
    return checks


def daily_prices(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "open": _int(NON_NEGATIVE),
            "high": _int(NON_NEGATIVE),
            "low": _int(NON_NEGATIVE),
            "close": _int(pa.Check.gt(0)),
            "volume": _int(NON_NEGATIVE),
            "trading_value": _int(NON_NEGATIVE),
        },
        checks=[
            pa.Check(
                lambda df: (
                    (df["low"] <= df[["open", "close"]].min(axis=1))
                    & (df[["open", "close"]].max(axis=1) <= df["high"])
                    | (df["volume"] == 0)
                ),
                name="low <= open, close <= high",
                error="prices must satisfy low <= open, close <= high on a traded day",
            )
        ],
        unique=["symbol", "time"],
        strict=True,
    )


def investor_trends(start: date, end: date) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {"time": _in_window(start, end), "symbol": SYMBOL}
    for group in INVESTOR_GROUPS:
        for side in ("buy", "sell"):
            for unit in ("qty", "value"):
                columns[f"{group}_{side}_{unit}"] = _int(NON_NEGATIVE)
        for unit in ("qty", "value"):
            columns[f"{group}_net_{unit}"] = _int()
    return pa.DataFrameSchema(
        columns,
        checks=[
            *_buy_sell_net([f"{g}_" for g in INVESTOR_GROUPS]),
            *(_zero_sum(unit) for unit in ("qty", "value")),
        ],
        unique=["symbol", "time"],
        strict=True,
    )


def _zero_sum(unit: str) -> pa.Check:
    nets = [f"{g}_net_{unit}" for g in ZERO_SUM_GROUPS]
    gross = [f"{g}_buy_{unit}" for g in ZERO_SUM_GROUPS]

    def balanced(df: pd.DataFrame) -> pd.Series:
        return df[nets].sum(axis=1).abs() <= ZERO_SUM_TOLERANCE * df[gross].sum(axis=1) + 1

    return pa.Check(
        balanced,
        name=f"investor net {unit} sums to ~0",
        error=f"{' + '.join(nets)} must net to ~0 per stock-day",
    )


def short_selling(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "short_volume": _int(NON_NEGATIVE),
            "short_value": _int(NON_NEGATIVE),
            "short_volume_ratio": pa.Column(float, PERCENT),
            "short_value_ratio": pa.Column(float, PERCENT),
            "total_volume": _int(NON_NEGATIVE),
            "total_value": _int(NON_NEGATIVE),
            "short_balance_qty": pa.Column("Int64", NON_NEGATIVE, nullable=True, required=False),
            "short_balance_value": pa.Column("Int64", NON_NEGATIVE, nullable=True, required=False),
        },
        checks=[
            pa.Check(
                lambda df: (
                    (df["short_volume"] <= df["total_volume"]) & (df["short_value"] <= df["total_value"])
                ),
                name="short <= total",
                error="short volume and value cannot exceed the day's total",
            )
        ],
        unique=["symbol", "time"],
        strict=True,
    )


def program_trading(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            **{
                f"program_{side}_{unit}": _int(NON_NEGATIVE)
                for side in ("buy", "sell")
                for unit in ("qty", "value")
            },
            "program_net_qty": _int(),
            "program_net_value": _int(),
            "source": pa.Column(str, pa.Check.isin(["KIS", "KIWOOM"]), required=False),
        },
        checks=_buy_sell_net(["program_"]),
        unique=["symbol", "time"],
        strict=True,
    )


def program_trading_market(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "market": pa.Column(str, pa.Check.isin(["KOSPI", "KOSDAQ"])),
            "trade_type": pa.Column(str, pa.Check.isin(["arbitrage", "non_arbitrage", "total"])),
            **{f"{side}_{unit}": _int(NON_NEGATIVE) for side in ("buy", "sell") for unit in ("qty", "value")},
            "net_qty": _int(),
            "net_value": _int(),
        },
        checks=[*_buy_sell_net([""]), _total_is_arbitrage_plus_non_arbitrage()],
        unique=["market", "trade_type", "time"],
        strict=True,
    )


def _total_is_arbitrage_plus_non_arbitrage() -> pa.Check:
    def consistent(df: pd.DataFrame) -> pd.Series:
        measures = [f"{side}_{unit}" for side in ("buy", "sell", "net") for unit in ("qty", "value")]
        parts = df[df["trade_type"] != "total"].groupby(["time", "market"])[measures].sum()
        totals = df[df["trade_type"] == "total"].set_index(["time", "market"])[measures]
        joined = totals.join(parts, rsuffix="_parts", how="left")
        ok = pd.Series(True, index=joined.index)
        for m in measures:
            ok &= joined[m] == joined[f"{m}_parts"]
        return (
            df.set_index(["time", "market"])
            .index.map(lambda k: bool(ok.get(k, True)))
            .to_series(index=df.index)
        )

    return pa.Check(
        consistent,
        name="total = arbitrage + non_arbitrage",
        error="the market total must equal arbitrage + non-arbitrage",
    )


def stock_master() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "symbol": SYMBOL,
            "valid_from": pa.Column(object, nullable=False),
            "name": pa.Column(str, pa.Check.str_length(min_value=1)),
            "market": pa.Column(str, pa.Check.isin(["KOSPI", "KOSDAQ"])),
            "sector_code": pa.Column(str, pa.Check.str_matches(r"^[01][0-9]{3}$")),  # 업종 index code
            "sector_name": pa.Column(str, pa.Check.str_length(min_value=1)),
            "listed_shares": _int(NON_NEGATIVE),
            "sector_kis_code": pa.Column(str, pa.Check.str_matches(r"^[0-9]{3}$")),  # KIS's own code
            "last_seen": pa.Column(object, nullable=False),
        },
        unique=["symbol", "valid_from"],
        strict=True,
    )


def intraday_program_trading() -> pa.DataFrameSchema:
    """The per-stock programme schema, with the bar's KST timestamp for `time` plus price and volume."""
    return (
        program_trading(date.min, date.max)
        .remove_columns(["time"])
        .add_columns(
            {
                "time": pa.Column(None, nullable=False),
                "price": _int(NON_NEGATIVE),
                "volume": _int(NON_NEGATIVE),
            }
        )
    )
