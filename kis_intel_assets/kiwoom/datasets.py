"""Dataset-level Kiwoom calls that return rows in the project's column vocabulary (sql/001_core_tables.sql),
so the same stock-day from KIS and from Kiwoom compares column by column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from kis_intel_assets.kis.errors import KISPayloadError
from kis_intel_assets.kis.parsing import Row, Value
from kis_intel_assets.kiwoom.config import KiwoomConfig
from kis_intel_assets.kiwoom.endpoints import INVESTOR_FIELD_TO_GROUP, endpoint
from kis_intel_assets.kiwoom.session import KiwoomSession

# ka10059 request codes (docs/kiwoom_api.md): amt_qty_tp 1 amount / 2 quantity; trde_tp 1 buy / 2 sell.
_INVESTOR_CALLS = (
    ("1", "1", "buy_value"),
    ("1", "2", "sell_value"),
    ("2", "1", "buy"),
    ("2", "2", "sell"),
)
# ka90004 and ka90012 mrkt_tp per market (docs/kiwoom_api.md).
PROGRAM_MARKET = {"KOSPI": "P00101", "KOSDAQ": "P10102"}
LENDING_MARKET = {"KOSPI": "001", "KOSDAQ": "101"}


def percent_of(part: int, total: int) -> float:
    """100 · part / total to 2 decimals (0 when total is 0), as KIS reports its short ratios."""
    return round(100.0 * part / total, 2) if total else 0.0


def _ymd(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def _in_window(rows: Iterable[Row], start: dt.date, end: dt.date) -> dict[dt.date, Row]:
    # "time" is every daily endpoint's DATE field (a Row's values are a union)
    return {r["time"]: r for r in rows if start <= r["time"] <= end}  # type: ignore[operator, misc]


def _number(value: Value) -> int | float:
    """A numeric field's value: a Row's values are a union (a blank fails here as arithmetic on it would)."""
    if isinstance(value, int | float):
        return value
    raise TypeError(f"expected a number, got {value!r}")


class KiwoomClient:
    """One Kiwoom app key: its session (token, limiter, retries) and the dataset calls."""

    def __init__(self, config: KiwoomConfig) -> None:
        self.session = KiwoomSession(config)

    def close(self) -> None:
        self.session.close()

    def investor_trends(self, symbol: str, start: dt.date, end: dt.date) -> list[Row]:
        """Buy/sell quantity and value per investor group and day (4 ka10059 calls); net = buy - sell."""
        spec = endpoint("ka10059")
        per_call: dict[str, dict[dt.date, Row]] = {}
        for amt_qty_tp, trde_tp, measure in _INVESTOR_CALLS:
            body = {"dt": _ymd(end), "stk_cd": symbol, "amt_qty_tp": amt_qty_tp, "trde_tp": trde_tp}
            rows = self.session.fetch_rows(
                spec, body, symbol=symbol, start=start, quantities=amt_qty_tp == "2"
            )
            per_call[measure] = _in_window(rows, start, end)
        days = sorted(per_call["buy_value"])
        for measure, by_day in per_call.items():
            if sorted(by_day) != days:
                raise KISPayloadError(
                    tr_id=spec.api_id,
                    symbol=symbol,
                    field="dt",
                    problem=f"the {measure} call returned other days than the buy_value call",
                )
        out: list[Row] = []
        for day in days:
            row: Row = {"time": day, "symbol": symbol}
            for source, group in INVESTOR_FIELD_TO_GROUP.items():
                for measure, by_day in per_call.items():
                    row[f"{group}_{measure}"] = by_day[day][source]
                row[f"{group}_net"] = _number(row[f"{group}_buy"]) - _number(row[f"{group}_sell"])
                row[f"{group}_net_value"] = _number(row[f"{group}_buy_value"]) - _number(
                    row[f"{group}_sell_value"]
                )
            out.append(row)
        return out

    def short_selling(self, symbol: str, start: dt.date, end: dt.date) -> list[Row]:
        """Short volume and value per day (ka10014), and short_ratio = 100 · shrts_qty / trde_qty to 2
        decimals: derived, because what `trde_wght` (매매비중) is a share of is not documented."""
        body = {"stk_cd": symbol, "strt_dt": _ymd(start), "end_dt": _ymd(end)}
        rows = self.session.fetch_rows(endpoint("ka10014"), body, symbol=symbol, start=start)
        return [
            {
                "time": day,
                "symbol": symbol,
                **{k: row[k] for k in ("short_volume", "short_amount", "total_volume")},
                "short_ratio": percent_of(row["short_volume"], row["total_volume"]),  # type: ignore[arg-type]
            }
            for day, row in sorted(_in_window(rows, start, end).items())
        ]

    def program_trading(self, symbol: str, start: dt.date, end: dt.date) -> list[Row]:
        """Per-stock daily programme trading; ka90013 is called for amounts (1) and for quantities (2)
        because which fields each mode fills is not documented (docs/kiwoom_api.md)."""
        spec = endpoint("ka90013")
        by_mode = {
            mode: _in_window(
                self.session.fetch_rows(
                    spec,
                    {"stk_cd": symbol, "amt_qty_tp": mode, "date": _ymd(end)},
                    symbol=symbol,
                    start=start,
                ),
                start,
                end,
            )
            for mode in ("1", "2")
        }
        if sorted(by_mode["1"]) != sorted(by_mode["2"]):
            raise KISPayloadError(
                tr_id=spec.api_id,
                symbol=symbol,
                field="dt",
                problem="the amount and quantity calls returned different days",
            )
        out: list[Row] = []
        for day in sorted(by_mode["1"]):
            money, qty = by_mode["1"][day], by_mode["2"][day]
            out.append(
                {
                    "time": day,
                    "symbol": symbol,
                    "program_buy": qty["prm_buy_qty"],
                    "program_sell": qty["prm_sell_qty"],
                    "program_net": qty["prm_netprps_qty"],
                    "program_buy_value": money["prm_buy_amt"],
                    "program_sell_value": money["prm_sell_amt"],
                    "program_net_value": money["prm_netprps_amt"],
                }
            )
        return out

    def program_trading_all(self, market: str, day: dt.date) -> list[Row]:
        """Every stock of a market for one day in one call (ka90004); net quantity = buy - sell."""
        body = {"dt": _ymd(day), "mrkt_tp": PROGRAM_MARKET[market]}
        rows = self.session.fetch_rows(endpoint("ka90004"), body, symbol=market)
        return [
            {
                "time": day,
                **{k: v for k, v in row.items() if k != "close"},
                "program_net": _number(row["program_buy"]) - _number(row["program_sell"]),
            }
            for row in rows
        ]

    def lending_by_stock(self, market: str, day: dt.date) -> list[Row]:
        """Stock lending of every stock of a market on one day (ka90012)."""
        rows = self.session.fetch_rows(
            endpoint("ka90012"), {"dt": _ymd(day), "mrkt_tp": LENDING_MARKET[market]}, symbol=market
        )
        return [{"time": day, **row} for row in rows]
