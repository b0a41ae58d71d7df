"""The KRX data portal's view of the simulator's market: the same MarketModel stocks and trades, in the
portal's investor types and units, plus the short-selling balance KIS does not serve.

Simulator decisions (docs/krx_portal.md lists what is sourced and what is not):
- Investor types map to KIS's groups through KIS's field prefixes (so a rename of our group names cannot
  break it): 1000 scrt, 2000 insu, 3000 ivtr, 3100 pe_fund, 4000 bank, 5000 mrbn, 6000 fund, 7050 orgn,
  7100 etc_corp, 8000 prsn; 9000 (외국인) is KIS's registered foreigners (frgn_reg) and 9001 (기타외국인)
  the rest, so 9000 + 9001 is KIS's foreign group. KIS's etc_orgt (기타단체) has no KRX type; with
  `state_in_pension_fund` it is counted in 6000 (연기금 등) and so in 7050, as KRX's "연기금 등" may be.
- Units: volumes are shares in both. KIS's per-stock values are KRW million; the portal's are KRW. A type's
  KRW value is KIS's million figure x 1,000,000 plus a deterministic remainder in [-249,999, 249,999]
  (never negative where KIS shows 0; 0 where no share traded), so rounding KRX's value to millions gives
  KIS's for every single type, and a group summed from n KRX types is within n x 250,000 KRW of KIS x 10^6.
  7050 is the exact sum of its seven sub-types. `value_residuals=False` serves KIS x 1,000,000 exactly.
- Short balance: per stock a deterministic walk seeded by (seed, symbol): it starts at 0.05-0.3 % of listed
  shares; each day 2-10 % of the balance is covered and the day's short volume (KIS's FHPST04830000
  figure) is added, capped at the listed shares. BAL_AMT is balance x close, BAL_RTO balance / listed x 100
  (2 decimals), MKTCAP close x listed.
- A planted mismatch (symbol, group, delta shares, optional day) adds `delta` to that group's buy volume
  (and delta x close to its buy value) in what the portal serves, for the reconciliation check's test;
  for `foreign` it goes to type 9000.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np

from kis_intel_assets.krx import portal
from kis_intel_assets.simulator.groups import KIS_PREFIX, GroupFlows, foreign_split, group_flows
from kis_intel_assets.simulator.model import MarketModel

GROUP_OF_PREFIX = {prefix: group for group, prefix in KIS_PREFIX.items()}
TYPE_PREFIX = {
    "1000": "scrt",
    "2000": "insu",
    "3000": "ivtr",
    "3100": "pe_fund",
    "4000": "bank",
    "5000": "mrbn",
    "6000": "fund",
    "7100": "etc_corp",
    "8000": "prsn",
}
INSTITUTION_TYPE = "7050"
INSTITUTION_PARTS = ("1000", "2000", "3000", "3100", "4000", "5000", "6000")
LEAF_TYPES = (*TYPE_PREFIX, *portal.FOREIGN_TYPES)
RESIDUAL = 250_000
BALANCE_SEED, FLOW_SEED = 30501, 2401
CACHE_SIZE = 16

Quad = tuple[int, int, int, int]  # buy volume, sell volume, buy value KRW, sell value KRW


@dataclass(frozen=True)
class PlantedMismatch:
    symbol: str
    group: str  # a client group name (portal.INVESTOR_TYPES values; foreign -> 9000)
    delta: int  # shares added to the group's buy volume
    day: date | None = None  # None: every day

    def type_code(self) -> str:
        if self.group == "foreign":
            return portal.FOREIGN_TYPES[0]
        codes = [code for code, group in portal.INVESTOR_TYPES.items() if group == self.group]
        if not codes:
            raise ValueError(f"no KRX investor type for group {self.group!r}")
        return codes[0]


@dataclass(frozen=True)
class Balance:
    days: np.ndarray
    quantity: np.ndarray
    amount: np.ndarray
    listed: int
    market_cap: np.ndarray

    def ratio(self, k: int) -> float:
        return round(float(self.quantity[k]) / self.listed * 100, 2)


def _remainder(quantity: int, millions: int, draw: int) -> int:
    """The KRW below KIS's million figure: none when no share traded, never negative below 1 million."""
    if quantity == 0:
        return 0
    return abs(draw) if millions == 0 else draw


class KRXMarket:
    """Investor tables per market-day and short balance per stock, cached (thread-safe)."""

    def __init__(self, model: MarketModel, *, state_in_pension_fund: bool, value_residuals: bool) -> None:
        self.model = model
        self.state_in_pension_fund = state_in_pension_fund
        self.value_residuals = value_residuals
        self.planted: PlantedMismatch | None = None
        self._lock = threading.Lock()
        self._tables: OrderedDict[tuple[str, date], dict[str, dict[str, Quad]]] = OrderedDict()
        self._balances: OrderedDict[str, Balance] = OrderedDict()

    def symbols(self, market: str) -> list[str]:
        u = self.model.universe
        return [str(s) for s, m in zip(u.symbols, u.markets, strict=True) if m == market]

    def name(self, symbol: str) -> str:
        return self.model.universe.names[self.model.position(symbol)]

    def market_of(self, symbol: str) -> str:
        return str(self.model.universe.markets[self.model.position(symbol)])

    def close(self, symbol: str, day: date) -> int:
        series = self.model.series(symbol)
        k = int(np.searchsorted(series.days, np.datetime64(day, "D")))
        return int(series.prices.close[k])

    # -- investor flows ---------------------------------------------------------------------------------
    def investor_table(self, market: str, day: date) -> dict[str, dict[str, Quad]]:
        """symbol -> invstTpCd -> (buy, sell, buy KRW, sell KRW) for every stock of `market` trading on
        `day`, before any planted mismatch."""
        key = (market, day)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        table = {}
        for symbol in self.symbols(market):
            series = self.model.series(symbol)
            k = int(np.searchsorted(series.days, np.datetime64(day, "D")))
            if k < len(series.days) and series.days[k] == np.datetime64(day, "D"):
                table[symbol] = self._stock_day(symbol, group_flows(series, np.array([k])), day)
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > CACHE_SIZE:
                self._tables.popitem(last=False)
        return table

    def _stock_day(self, symbol: str, flows: dict[str, GroupFlows], day: date) -> dict[str, Quad]:
        leaves = {code: flows[GROUP_OF_PREFIX[prefix]] for code, prefix in TYPE_PREFIX.items()}
        leaves["9000"], leaves["9001"] = foreign_split(flows[GROUP_OF_PREFIX["frgn"]])
        quantities = {code: (int(g.buy_qty[0]), int(g.sell_qty[0])) for code, g in leaves.items()}
        millions = {code: (int(g.buy_value_m[0]), int(g.sell_value_m[0])) for code, g in leaves.items()}
        if self.state_in_pension_fund:
            state = flows[GROUP_OF_PREFIX["etc_orgt"]]
            b, s = quantities["6000"]
            quantities["6000"] = (b + int(state.buy_qty[0]), s + int(state.sell_qty[0]))
            bm, sm = millions["6000"]
            millions["6000"] = (bm + int(state.buy_value_m[0]), sm + int(state.sell_value_m[0]))
        rng = np.random.default_rng(
            [self.model.config.seed, FLOW_SEED, zlib.crc32(symbol.encode()), day.toordinal()]
        )
        draws = rng.integers(-RESIDUAL + 1, RESIDUAL, size=(len(LEAF_TYPES), 2))
        out: dict[str, Quad] = {}
        for code, residual in zip(LEAF_TYPES, draws, strict=True):
            qty, value_m = quantities[code], millions[code]
            values = tuple(
                m * 1_000_000 + _remainder(q, m, int(r)) * self.value_residuals
                for q, m, r in zip(qty, value_m, residual, strict=True)
            )
            out[code] = (qty[0], qty[1], values[0], values[1])
        buy_qty, sell_qty, buy_value, sell_value = (
            sum(out[code][i] for code in INSTITUTION_PARTS) for i in range(4)
        )
        out[INSTITUTION_TYPE] = (buy_qty, sell_qty, buy_value, sell_value)
        return out

    def served_flows(self, market: str, day: date, type_code: str) -> dict[str, Quad]:
        """What the portal serves for one type: the table with the planted mismatch applied."""
        table = {symbol: codes[type_code] for symbol, codes in self.investor_table(market, day).items()}
        planted = self.planted
        if (
            planted is not None
            and planted.symbol in table
            and planted.type_code() == type_code
            and planted.day in (None, day)
        ):
            b, s, bv, sv = table[planted.symbol]
            table[planted.symbol] = (
                b + planted.delta,
                s,
                bv + planted.delta * self.close(planted.symbol, day),
                sv,
            )
        return table

    # -- short balance ----------------------------------------------------------------------------------
    def balance(self, symbol: str) -> Balance:
        with self._lock:
            if symbol in self._balances:
                self._balances.move_to_end(symbol)
                return self._balances[symbol]
        series = self.model.series(symbol)
        listed = int(self.model.universe.listed_shares[self.model.position(symbol)])
        rng = np.random.default_rng(
            np.random.SeedSequence([self.model.config.seed, BALANCE_SEED, zlib.crc32(symbol.encode())])
        )
        cover = rng.uniform(0.02, 0.10, len(series.days))
        level = int(listed * rng.uniform(0.0005, 0.003))
        quantity = np.empty(len(series.days), dtype=np.int64)
        for k, short in enumerate(series.short_volume.astype(np.int64)):
            level = min(level - int(level * cover[k]) + int(short), listed)
            quantity[k] = level
        close = series.prices.close.astype(np.int64)
        built = Balance(series.days, quantity, quantity * close, listed, close * listed)
        with self._lock:
            self._balances[symbol] = built
            while len(self._balances) > CACHE_SIZE * 16:
                self._balances.popitem(last=False)
        return built

    def balance_on(self, symbol: str, day: date) -> tuple[Balance, int] | None:
        """The stock's balance series and the position of `day` in it, or None when it did not trade."""
        balance = self.balance(symbol)
        k = int(np.searchsorted(balance.days, np.datetime64(day, "D")))
        if k < len(balance.days) and balance.days[k] == np.datetime64(day, "D"):
            return balance, k
        return None
