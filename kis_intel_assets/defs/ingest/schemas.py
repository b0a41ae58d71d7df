"""Pandera schemas for every ingested dataset, run inside the assets before a row is written.

Each schema is built for the run's date window so rows dated outside the partition are rejected too.
Beyond types and ranges, every identity or bound the data has is checked, so a number that is well
formed but wrong (a field tripled, a ratio that no longer matches its values) is rejected too:

- buy − sell = net exactly; 기관계 = the sum of its sub-groups and 기타 = 기타법인 + 기타단체 (quantities
  exactly, KRW-million values within one unit per part); the four top-level groups net to ~0;
- short ratio = round(100 · short / total, 2) (within 0.01, which also admits truncation), short ≤ total;
- low ≤ open, close ≤ high; every price inside KRX's ±30 % daily band around the base price (기준가 =
  close − prdy_vrss), except on days KIS marks as a base-price reset (락 구분 ≠ 00, 수정 여부 Y, a
  재평가 사유 such as a split) or without a base price, and inside the listing-day band (60–400 %) on a
  stock's first row; a day's average price (value ÷ volume) inside the band (inside the day's range
  ± 10 % for after-hours trades where no band applies).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import pandera.pandas as pa

from kis_intel_assets.investor_groups import (
    FLOW_SIDES,
    INSTITUTION_SUBGROUPS,
    INVESTOR_GROUPS,
    OTHER_SUBGROUPS,
    ZERO_SUM_GROUPS,
    flow_column,
)
from kis_intel_assets.kiwoom.endpoints import INVESTOR_GROUPS_NOT_FROM_KIWOOM
from kis_intel_assets.krx_calendar import CalendarRangeError, previous_trading_day
from kis_intel_assets.storage import registered_table

SYMBOL = pa.Column(str, pa.Check.str_matches(r"^[0-9A-Z]{6}$"), nullable=False)
NON_NEGATIVE = pa.Check.ge(0)
PERCENT = pa.Check.in_range(0, 100)
# Per-row net totals may be off by rounding at the source; the budget is a small share of gross turnover.
ZERO_SUM_TOLERANCE = 0.005
# KIS rounds ratios to 2 decimals; 0.01 admits rounding or truncation, and float error.
RATIO_TOLERANCE = 0.01 + 1e-9
# KRX's daily price limit around the base price, with one per cent to spare for the tick grid and for
# an adjusted (수정주가) base that differs from KRX's by rounding.
PRICE_BAND = (0.70 - 0.01, 1.30 + 0.01)
# A listing day's range: 60–400 % of the offering price, KIS's base price that day (KRX, since 2023-06-26).
LISTING_BAND = (0.60 - 0.01, 4.00 + 0.01)
# After-hours single-price trades (시간외 단일가) may print up to 10 % beyond the session's range.
AFTER_HOURS_MARGIN = 0.10
UNMARKED = ("", "00", "N")  # 락 구분 "00" none, 수정 여부 "N", blank 재평가 사유
KRW_MILLION = 1_000_000
# Which broker served a row (kiwoom/routing.py); absent when KIS alone served the run.
ROW_SOURCE = pa.Column(str, pa.Check.isin(["KIS", "KIWOOM"]), required=False)


def key_of(table: str) -> list[str]:
    """The columns a batch for `table` must be unique on: its primary key (storage/tables.py)."""
    return list(registered_table(table).key)


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


def _market_column(_group: str, side: str, unit: str) -> str:
    """program_trading_market's own names (buy_qty, buy_value …): not an RFC-010 table."""
    return f"{side}_{unit}"


RowFilter = Callable[[pd.DataFrame], pd.Series]


def _every_row(df: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=df.index)


def _not_from_kiwoom(df: pd.DataFrame) -> pd.Series:
    """Rows that have the groups Kiwoom cannot give (every row but a KIWOOM one)."""
    return df["source"].ne("KIWOOM") if "source" in df else _every_row(df)


def _on(rows: RowFilter, holds: Callable[[pd.DataFrame], pd.Series]) -> Callable[[pd.DataFrame], pd.Series]:
    """A check that applies to the `rows` only; the other rows pass."""
    return lambda df: holds(df).fillna(False).astype(bool) | ~rows(df)


def _net_holds(buy: str, sell: str, net: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[buy] - df[sell] == df[net]


def _sum_holds(total: str, parts: list[str], slack: int) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[total] - df[parts].sum(axis=1)).abs() <= slack


def _buy_sell_net(
    groups: list[str], column: Callable[[str, str, str], str] = flow_column, rows: RowFilter = _every_row
) -> list[pa.Check]:
    """buy − sell = net, exactly, for each group and unit (on `rows`)."""
    checks = []
    for group in groups:
        for unit in ("qty", "value"):
            buy, sell, net = (column(group, side, unit) for side in FLOW_SIDES)
            checks.append(
                pa.Check(
                    _on(rows, _net_holds(buy, sell, net)),
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
            "base_change": pa.Column("Int64", nullable=True),
            **{mark: pa.Column(object, nullable=True) for mark in BASE_PRICE_MARKS},
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
            ),
            *_price_band_checks(),
        ],
        unique=key_of("daily_prices"),
        strict=True,
    )


BASE_PRICE_MARKS = ("lock_code", "modified_yn", "reevaluation_reason")


def _base_price(df: pd.DataFrame) -> pd.Series:
    """기준가 = close − prdy_vrss where KIS gives it and marks no reset; NaN where no band applies."""
    reset = pd.Series(False, index=df.index)
    for mark in BASE_PRICE_MARKS:
        reset |= ~df[mark].fillna("").astype(str).isin(UNMARKED)
    base = df["close"].astype("float64") - df["base_change"].astype("float64")
    return base.where(~reset & (base > 0))


def _within(values: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    """values inside [low, high]; rows without bounds (NaN) pass."""
    return ~((values < low) | (values > high)).fillna(False).astype(bool)


def _price_band_checks() -> list[pa.Check]:
    def band(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """±30 % of the base price; the listing band on a stock's first row in the frame, which the assets
        fetch from the trading day before the window on (no earlier row: a listing day, or the first day
        after a halt, where the wider band is merely lenient)."""
        base = _base_price(df)
        first = df["time"] == df.groupby("symbol")["time"].transform("min")
        low = base * PRICE_BAND[0]
        high = base * PRICE_BAND[1]
        return low.where(~first, base * LISTING_BAND[0]), high.where(~first, base * LISTING_BAND[1])

    def prices_in_band(df: pd.DataFrame) -> pd.Series:
        low, high = band(df)
        traded = df["volume"] > 0
        return _within(df["high"], low, high) & _within(df["low"], low, high) | ~traded

    def average_in_band(df: pd.DataFrame) -> pd.Series:
        low, high = band(df)
        margin_low = df["low"] * (1 - AFTER_HOURS_MARGIN)
        margin_high = df["high"] * (1 + AFTER_HOURS_MARGIN)
        average = df["trading_value"] / df["volume"].where(df["volume"] > 0)
        no_band = low.isna()
        lower = low.where(~no_band, margin_low)
        upper = high.where(~no_band, margin_high)
        untraded_is_empty = (df["volume"] > 0) | (df["trading_value"] == 0)
        return _within(average, lower, upper) & untraded_is_empty

    return [
        pa.Check(
            prices_in_band,
            name="base price × 0.7 <= low, high <= base price × 1.3 (base price = close - base_change)",
            error="high and low must lie inside KRX's ±30 % daily band around the base price (prdy_vrss)",
        ),
        pa.Check(
            average_in_band,
            name="trading_value / volume inside the daily band",
            error="the day's average price (trading value / volume) must lie inside the daily band",
        ),
    ]


def investor_trends(start: date, end: date) -> pa.DataFrameSchema:
    """Every group of every row, except in KIWOOM rows the groups Kiwoom cannot give: NULL there, and only
    there, and the identities that need them (기타 = its parts, the four groups net to ~0) hold elsewhere."""
    from_kiwoom_too = [g for g in INVESTOR_GROUPS if g not in INVESTOR_GROUPS_NOT_FROM_KIWOOM]
    columns: dict[str, pa.Column] = {"time": _in_window(start, end), "symbol": SYMBOL, "source": ROW_SOURCE}
    for group in INVESTOR_GROUPS:
        nullable = group in INVESTOR_GROUPS_NOT_FROM_KIWOOM
        for side in ("buy", "sell"):
            for unit in ("qty", "value"):
                columns[flow_column(group, side, unit)] = _int(NON_NEGATIVE, nullable=nullable)
        for unit in ("qty", "value"):
            columns[flow_column(group, "net", unit)] = _int(nullable=nullable)
    return pa.DataFrameSchema(
        columns,
        checks=[
            _null_exactly_in_kiwoom_rows(INVESTOR_GROUPS_NOT_FROM_KIWOOM),
            *_buy_sell_net(from_kiwoom_too),
            *_buy_sell_net(list(INVESTOR_GROUPS_NOT_FROM_KIWOOM), rows=_not_from_kiwoom),
            *(_zero_sum(unit) for unit in ("qty", "value")),
            *_group_sums("institution", INSTITUTION_SUBGROUPS),
            *_group_sums("other", OTHER_SUBGROUPS, rows=_not_from_kiwoom),
        ],
        unique=key_of("investor_trends"),
        strict=True,
    )


def _null_exactly_in_kiwoom_rows(groups: tuple[str, ...]) -> pa.Check:
    """The groups' columns are all NULL in a KIWOOM row (never zero) and all present in any other row."""
    columns = [flow_column(g, side, unit) for g in groups for side in FLOW_SIDES for unit in ("qty", "value")]

    def consistent(df: pd.DataFrame) -> pd.Series:
        kept = _not_from_kiwoom(df)
        return df[columns].notna().all(axis=1).where(kept, df[columns].isna().all(axis=1)).astype(bool)

    return pa.Check(
        consistent,
        name=f"{', '.join(groups)} NULL exactly in KIWOOM rows",
        error=f"{', '.join(groups)} must be NULL in Kiwoom rows (no ka10059 field) and set in the others",
    )


def _group_sums(total: str, parts: tuple[str, ...], rows: RowFilter = _every_row) -> list[pa.Check]:
    """A group total equals the sum of its sub-groups (on `rows`): quantities exactly, values (sent in KRW
    million, each rounded on its own) within one million per part."""
    checks = []
    for measure in ("buy", "sell", "net"):
        for unit in ("qty", "value"):
            column = flow_column(total, measure, unit)
            summed = [flow_column(p, measure, unit) for p in parts]
            slack = len(parts) * KRW_MILLION if unit == "value" else 0
            checks.append(
                pa.Check(
                    _on(rows, _sum_holds(column, summed, slack)),
                    name=f"{column} = {' + '.join(summed)}",
                    error=f"{column} must equal the sum of its sub-groups",
                )
            )
    return checks


def _zero_sum(unit: str) -> pa.Check:
    nets = [flow_column(g, "net", unit) for g in ZERO_SUM_GROUPS]
    gross = [flow_column(g, "buy", unit) for g in ZERO_SUM_GROUPS]

    def balanced(df: pd.DataFrame) -> pd.Series:
        return df[nets].sum(axis=1).abs() <= ZERO_SUM_TOLERANCE * df[gross].sum(axis=1) + 1

    return pa.Check(
        _on(_not_from_kiwoom, balanced),
        name=f"investor net {unit} sums to ~0",
        error=f"{' + '.join(nets)} must net to ~0 per stock-day",
    )


def short_selling(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "short_volume": _int(NON_NEGATIVE),
            "short_amount": _int(NON_NEGATIVE),
            "short_ratio": pa.Column(float, PERCENT),
            "short_value_ratio": pa.Column(float, PERCENT),
            "total_volume": _int(NON_NEGATIVE),
            "total_value": _int(NON_NEGATIVE),
            "day_high": pa.Column("Int64", NON_NEGATIVE, nullable=True),
            "day_low": pa.Column("Int64", NON_NEGATIVE, nullable=True),
            "balance_volume": pa.Column("Int64", NON_NEGATIVE, nullable=True, required=False),
            "balance_amount": pa.Column("Int64", NON_NEGATIVE, nullable=True, required=False),
            "balance_ratio": pa.Column(float, PERCENT, nullable=True, required=False),
            "source": ROW_SOURCE,
        },
        checks=[
            pa.Check(
                lambda df: (
                    (df["short_volume"] <= df["total_volume"]) & (df["short_amount"] <= df["total_value"])
                ),
                name="short <= total",
                error="short volume and value cannot exceed the day's total",
            ),
            _ratio_matches("short_ratio", "short_volume", "total_volume"),
            _ratio_matches("short_value_ratio", "short_amount", "total_value"),
            _average_in_range("total_value", "total_volume"),
            _average_in_range("short_amount", "short_volume"),
        ],
        unique=key_of("short_selling"),
        strict=True,
    )


def _ratio_matches(ratio: str, part: str, total: str) -> pa.Check:
    def matches(df: pd.DataFrame) -> pd.Series:
        exact = 100 * df[part] / df[total].where(df[total] > 0)
        return (df[ratio] - exact.fillna(0.0)).abs() <= RATIO_TOLERANCE

    return pa.Check(
        matches,
        name=f"{ratio} = round(100 · {part} / {total}, 2)",
        error=f"{ratio} must equal 100 · {part} / {total} to 2 decimals",
    )


def _average_in_range(value: str, volume: str) -> pa.Check:
    """value ÷ volume is a price the stock traded at: inside the day's range, ± the after-hours margin."""

    def inside(df: pd.DataFrame) -> pd.Series:
        average = df[value] / df[volume].where(df[volume] > 0)
        low = df["day_low"].astype("float64") * (1 - AFTER_HOURS_MARGIN)
        high = df["day_high"].astype("float64") * (1 + AFTER_HOURS_MARGIN)
        return _within(average, low, high) & ((df[volume] > 0) | (df[value] == 0))

    return pa.Check(
        inside,
        name=f"{value} / {volume} inside the day's range (day_low..day_high)",
        error=f"{value} / {volume} must be a price inside the day's range (stck_lwpr..stck_hgpr)",
    )


def program_trading(start: date, end: date) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            **{
                flow_column("program", side, unit): _int(NON_NEGATIVE)
                for side in ("buy", "sell")
                for unit in ("qty", "value")
            },
            "program_net": _int(),
            "program_net_value": _int(),
            "source": ROW_SOURCE,
        },
        checks=_buy_sell_net(["program"]),
        unique=key_of("program_trading"),
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
        checks=[*_buy_sell_net([""], _market_column), _total_is_arbitrage_plus_non_arbitrage()],
        unique=key_of("program_trading_market"),
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
        unique=key_of("stock_master"),
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


def intraday_investor_estimates() -> pa.DataFrameSchema:
    """KIS's provisional foreign / institution net buying (가집계): nets may be negative or not keyed in
    yet (NULL), the snapshot's KST timestamp is `time`."""
    return pa.DataFrameSchema(
        {
            "time": pa.Column(None, nullable=False),
            "symbol": SYMBOL,
            "market": pa.Column(str, pa.Check.isin(["KOSPI", "KOSDAQ"])),
            "name": pa.Column(str, nullable=False),
            "price": _int(NON_NEGATIVE),
            **{
                flow_column(group, "net", unit): pa.Column("Int64", nullable=True)
                for group in ("foreign", "institution")
                for unit in ("qty", "value")
            },
        },
        unique=key_of("intraday_investor_estimates"),
        strict=True,
    )


def stock_lending(start: date, end: date) -> pa.DataFrameSchema:
    """대차거래 per stock-day: balance_change (prdy_rmnd_vrss) = new − redeemed, and the balance moves by
    it from the previous trading day's row; the KRW balance is the share balance at a price inside the
    daily band around the close (a balance in another unit, or a tripled field, is rejected)."""
    return pa.DataFrameSchema(
        {
            "time": _in_window(start, end),
            "symbol": SYMBOL,
            "new_volume": _int(NON_NEGATIVE),
            "redeemed_volume": _int(NON_NEGATIVE),
            "balance_volume": _int(NON_NEGATIVE),
            "balance_amount": _int(NON_NEGATIVE),
            "balance_change": pa.Column("Int64", nullable=True),
            "close": pa.Column("Int64", pa.Check.gt(0), nullable=True),
            "source": ROW_SOURCE,
        },
        checks=[
            pa.Check(
                lambda df: (
                    (df["balance_change"] == df["new_volume"] - df["redeemed_volume"])
                    .fillna(True)
                    .astype(bool)
                ),
                name="balance_change = new_volume - redeemed_volume",
                error="prdy_rmnd_vrss must equal new_stcn - rdmp_stcn",
            ),
            pa.Check(
                _balance_follows_previous_day,
                name="balance_volume - previous day's balance_volume = balance_change",
                error="rmnd_stcn must move from the previous trading day's by prdy_rmnd_vrss",
            ),
            pa.Check(
                _amount_at_a_price_near_the_close,
                name="balance_amount / balance_volume inside the band around close",
                error="rmnd_amt / rmnd_stcn must be a price inside the ±30 % band around stck_prpr",
            ),
        ],
        unique=key_of("stock_lending"),
        strict=True,
    )


def _balance_follows_previous_day(df: pd.DataFrame) -> pd.Series:
    """Rows whose symbol has a row on the previous trading day: the balance moved by exactly the change."""
    order = df.sort_values(["symbol", "time"])
    by_symbol = order.groupby("symbol", sort=False)
    previous_day = by_symbol["time"].shift()
    previous_balance = by_symbol["balance_volume"].shift()
    expected_day = order["time"].map({day: _previous_day(day) for day in order["time"].unique()})
    adjacent = previous_day.notna() & (previous_day == expected_day)
    moved = order["balance_volume"] - previous_balance == order["balance_change"]
    return (~adjacent | moved.fillna(True)).astype(bool).reindex(df.index)


def _previous_day(day: date) -> date | None:
    try:
        return previous_trading_day(day)
    except CalendarRangeError:
        return None  # the calendar's first day: no row before it to follow


def _amount_at_a_price_near_the_close(df: pd.DataFrame) -> pd.Series:
    price = df["balance_amount"] / df["balance_volume"].where(df["balance_volume"] > 0)
    close = df["close"].astype("float64")
    inside = _within(price, close * PRICE_BAND[0], close * PRICE_BAND[1])
    return inside & ((df["balance_volume"] > 0) | (df["balance_amount"] == 0))
