"""Ground truth: the exact rows the simulator serves, as DataFrames with the DB column names of the sql/
migrations (RFC-010's names, docs/rfc010_contract.md). `time` holds datetime.date values (the storage layer
converts to and from the tables' KST instants); money is integer KRW (investor values are the served
KRW-million figures x 1,000,000); ratios are floats with 2 decimals. Truth ignores the simulated clock: it
covers every configured day (filter by date to match what a clock-limited server returned)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date

import numpy as np
import pandas as pd

from kis_intel_assets.investor_groups import FLOW_SIDES, flow_column
from kis_intel_assets.simulator.encode import percent
from kis_intel_assets.simulator.groups import KIS_PREFIX, group_flows
from kis_intel_assets.simulator.handlers_program import market_program_components
from kis_intel_assets.simulator.lending import stock_lending
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.overheat import official_designations
from kis_intel_assets.simulator.sectors import SECTORS
from kis_intel_assets.simulator.series import SymbolSeries

KRW_PER_MILLION = 1_000_000
# The simulator's groups (KIS_PREFIX, group_flows) keep "individual"; the tables call it retail (RFC-010).
TABLE_GROUP = {group: "retail" if group == "individual" else group for group in KIS_PREFIX}
INVESTOR_GROUPS = tuple(TABLE_GROUP.values())
INVESTOR_COLUMNS = ["time", "symbol"] + [
    flow_column(group, side, unit)
    for group in INVESTOR_GROUPS
    for side in FLOW_SIDES
    for unit in ("qty", "value")
]

LENDING_COLUMNS = ("time", "symbol", "new_volume", "redeemed_volume", "balance_volume", "balance_amount")
PROGRAM_COLUMNS = ("program_buy", "program_sell", "program_net", "program_buy_value", "program_sell_value",
                   "program_net_value")  # fmt: skip
MARKET_PROGRAM_COLUMNS = ("buy_qty", "sell_qty", "net_qty", "buy_value", "sell_value", "net_value")


def program_sides(program: np.ndarray, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A program array (buy qty, sell qty, buy value, sell value per row) with both nets, named `columns`
    in the order buy, sell, net of the shares, then of the values."""
    buy_qty, sell_qty, buy_value, sell_value = program.T
    sides = (buy_qty, sell_qty, buy_qty - sell_qty, buy_value, sell_value, buy_value - sell_value)
    return dict(zip(columns, sides, strict=True))


class GroundTruth:
    def __init__(self, model: MarketModel) -> None:
        self.model = model

    def symbols(self) -> list[str]:
        """Every symbol the model has, listed now or not (see listed_symbols)."""
        return self.model.symbols()

    def listed_symbols(self, day: date) -> list[str]:
        return [s for s in self.symbols() if self.model.is_listed(s, np.datetime64(day, "D"))]

    def listing_events(self) -> pd.DataFrame:
        """symbol, kind (listing / delisting / halt) and its first and last day: the universe's changes."""
        u, days = self.model.universe, self.model.days
        rows = []
        for i, symbol in enumerate(u.symbols):
            lo, hi = u.listed_span(i, len(days))
            if lo > 0:
                rows.append({"symbol": str(symbol), "kind": "listing", "first": days[lo], "last": days[lo]})
            if hi < len(days):
                rows.append(
                    {"symbol": str(symbol), "kind": "delisting", "first": days[hi - 1], "last": days[hi - 1]}
                )
        for halt in u.changes.halts if u.changes else ():
            rows.append(
                {
                    "symbol": str(u.symbols[halt.symbol_index]),
                    "kind": "halt",
                    "first": days[halt.first_day],
                    "last": days[halt.last_day],
                }
            )
        frame = pd.DataFrame(rows, columns=["symbol", "kind", "first", "last"])
        for column in ("first", "last"):
            frame[column] = [np.datetime64(d, "D").astype(date) for d in frame[column]]
        return frame

    def stock_master(self) -> pd.DataFrame:
        """One row per symbol from the first day, plus one per planted sector change (valid_from = change
        day)."""
        u, days = self.model.universe, self.model.days
        rows = []
        for i, symbol in enumerate(u.symbols):
            path = u.sector_path(i, len(days))
            starts = [0] + [int(k) for k in np.flatnonzero(np.diff(path)) + 1]
            for k in starts:
                sector = SECTORS[int(path[k])]
                rows.append(
                    {
                        "symbol": str(symbol),
                        "valid_from": days[k].astype(date),
                        "name": u.names[i],
                        "market": str(u.markets[i]),
                        "sector_code": sector.code,
                        "sector_kis_code": sector.kis_code,
                        "sector_name": sector.name,
                        "listed_shares": int(u.listed_shares[i]),
                    }
                )
        return pd.DataFrame(rows)

    def _each(
        self, start: date, end: date, symbols: Iterable[str] | None
    ) -> Iterable[tuple[SymbolSeries, np.ndarray]]:
        for symbol in symbols if symbols is not None else self.symbols():
            series = self.model.series(symbol)
            lo, hi = series.span(np.datetime64(start, "D"), np.datetime64(end, "D"))
            if hi > lo:
                yield series, np.arange(lo, hi)

    def daily_prices(self, start: date, end: date, symbols: Iterable[str] | None = None) -> pd.DataFrame:
        frames = []
        for series, idx in self._each(start, end, symbols):
            pr = series.prices
            frames.append(
                pd.DataFrame(
                    {
                        "time": series.days[idx].astype(date),
                        "symbol": series.symbol,
                        "open": pr.open[idx],
                        "high": pr.high[idx],
                        "low": pr.low[idx],
                        "close": pr.close[idx],
                        "volume": pr.volume[idx],
                        "trading_value": pr.value[idx],
                    }
                )
            )
        return _concat(frames, ["time", "symbol", "open", "high", "low", "close", "volume", "trading_value"])

    def investor_trends(self, start: date, end: date, symbols: Iterable[str] | None = None) -> pd.DataFrame:
        frames = []
        for series, idx in self._each(start, end, symbols):
            flows = group_flows(series, idx)
            data: dict[str, object] = {"time": series.days[idx].astype(date), "symbol": series.symbol}
            for simulated, group in TABLE_GROUP.items():
                g = flows[simulated]
                data.update(
                    {
                        flow_column(group, "buy", "qty"): g.buy_qty,
                        flow_column(group, "buy", "value"): g.buy_value_m * KRW_PER_MILLION,
                        flow_column(group, "sell", "qty"): g.sell_qty,
                        flow_column(group, "sell", "value"): g.sell_value_m * KRW_PER_MILLION,
                        flow_column(group, "net", "qty"): g.net_qty,
                        flow_column(group, "net", "value"): g.net_value_m * KRW_PER_MILLION,
                    }
                )
            frames.append(pd.DataFrame(data))
        return _concat(frames, INVESTOR_COLUMNS)

    def short_selling(self, start: date, end: date, symbols: Iterable[str] | None = None) -> pd.DataFrame:
        frames = []
        for series, idx in self._each(start, end, symbols):
            volume, value = series.prices.volume[idx], series.prices.value[idx]
            short_qty, short_amount = series.short_volume[idx], series.short_value[idx]
            frames.append(
                pd.DataFrame(
                    {
                        "time": series.days[idx].astype(date),
                        "symbol": series.symbol,
                        "short_volume": short_qty,
                        "short_amount": short_amount,
                        "short_ratio": [percent(a, b) for a, b in zip(short_qty, volume, strict=True)],
                        "short_value_ratio": [
                            percent(a, b) for a, b in zip(short_amount, value, strict=True)
                        ],
                        "total_volume": volume,
                        "total_value": value,
                        "balance_volume": None,
                        "balance_amount": None,
                    }
                )
            )
        return _concat(
            frames,
            [
                "time",
                "symbol",
                "short_volume",
                "short_amount",
                "short_ratio",
                "short_value_ratio",
                "total_volume",
                "total_value",
                "balance_volume",
                "balance_amount",
            ],
        )

    def program_trading(self, start: date, end: date, symbols: Iterable[str] | None = None) -> pd.DataFrame:
        frames = []
        for series, idx in self._each(start, end, symbols):
            program = series.program[idx]
            frames.append(
                pd.DataFrame(
                    {
                        "time": series.days[idx].astype(date),
                        "symbol": series.symbol,
                        **program_sides(program, PROGRAM_COLUMNS),
                    }
                )
            )
        return _concat(frames, ["time", "symbol", *PROGRAM_COLUMNS])

    def stock_lending(self, start: date, end: date, symbols: Iterable[str] | None = None) -> pd.DataFrame:
        """대차거래 per stock-day (HHPST074500C0): shares lent, repaid, outstanding, and KRW outstanding."""
        frames = []
        for series, idx in self._each(start, end, symbols):
            _, lending = stock_lending(self.model, series.symbol)
            frames.append(
                pd.DataFrame(
                    {
                        "time": series.days[idx].astype(date),
                        "symbol": series.symbol,
                        "new_volume": lending.new[idx],
                        "redeemed_volume": lending.redeemed[idx],
                        "balance_volume": lending.balance[idx],
                        "balance_amount": lending.amount[idx],
                    }
                )
            )
        return _concat(frames, list(LENDING_COLUMNS))

    def program_trading_market(self, start: date, end: date) -> pd.DataFrame:
        """arbitrage / non_arbitrage / total per market-day, each the 합계 (위탁 + 자기) channel."""
        days = self.model.days
        lo = int(np.searchsorted(days, np.datetime64(start, "D"), "left"))
        hi = int(np.searchsorted(days, np.datetime64(end, "D"), "right"))
        frames = []
        for market in ("KOSPI", "KOSDAQ"):
            data = market_program_components(self.model, market)
            for kind, trade_type in (("arbt", "arbitrage"), ("nabt", "non_arbitrage"), ("whol", "total")):
                part = data[kind]["smtn"][lo:hi]
                frames.append(
                    pd.DataFrame(
                        {
                            "time": days[lo:hi].astype(date),
                            "market": market,
                            "trade_type": trade_type,
                            **program_sides(part, MARKET_PROGRAM_COLUMNS),
                        }
                    )
                )
        return _concat(frames, ["time", "market", "trade_type", *MARKET_PROGRAM_COLUMNS])

    def rotation_episodes(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(e) for e in self.model.factors.episodes])

    def short_overheat_designations(self, day: date) -> list[str]:
        """The official 공매도 과열종목 list of ban day `day` that the master files flag (sorted): the KRX
        rule on this market with the planted differences applied (simulator/overheat.py)."""
        return official_designations(self.model, day)

    def index_members(self) -> list[str]:
        """KOSPI200/KOSDAQ150 constituents used for the 2021-05-03..2023-11-05 short regime."""
        u = self.model.universe
        return [str(s) for s, member in zip(u.symbols, u.index_member, strict=True) if member]


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
