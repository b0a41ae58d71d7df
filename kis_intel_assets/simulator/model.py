"""The market model a simulator serves: universe + shared factors + lazily built, LRU-cached symbol series,
and the simulated clock that decides which days are final."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, time

import numpy as np

from kis_intel_assets import krx_calendar
from kis_intel_assets.simulator.config import KST, SimulatorConfig
from kis_intel_assets.simulator.factors import MarketFactors, short_regime
from kis_intel_assets.simulator.replay import ReplaySymbol, load_replay, replay_universe, serve_recorded_flows
from kis_intel_assets.simulator.series import (
    PriceBlock,
    SymbolSeries,
    build_series,
    model_prices,
    short_allowed,
)
from kis_intel_assets.simulator.streams import Streams, symbol_key
from kis_intel_assets.simulator.universe import build_universe

MARKET_CLOSE_FINAL = time(15, 40)  # daily investor/short data become final after this (KST)
# Non-stock lines in the master files (ETF/ETN), kept out of the stock universe's codes.
NON_STOCK_MASTER_LINES: tuple[tuple[str, str, str, str], ...] = (
    ("069500", "KODEX 200", "EF", "KOSPI"),
    ("102110", "TIGER 200", "EF", "KOSPI"),
    ("229200", "KODEX 코스닥150", "EF", "KOSDAQ"),
    ("500001", "신한 인버스 2X 천연가스 선물 ETN", "EN", "KOSPI"),
)


class UnknownSymbolError(KeyError):
    pass


class MarketModel:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._replay: dict[str, ReplaySymbol] | None = None
        if config.replay_dir is not None:
            replay = load_replay(config.replay_dir)
            self._replay = {r.symbol: r for r in replay}
            self.days = np.unique(np.concatenate([r.days for r in replay]))
        else:
            self.days = np.array(
                krx_calendar.trading_days(config.start, config.end_date), dtype="datetime64[D]"
            )
            if len(self.days) == 0:
                raise ValueError(f"no KRX trading days between {config.start} and {config.end_date}")
        reserved = {line[0] for line in NON_STOCK_MASTER_LINES}
        if self._replay is None:
            self.universe = build_universe(config.seed, config.n_symbols, len(self.days), reserved)
        else:
            self.universe = replay_universe(config.seed, list(self._replay.values()))
        # Episodes go only to sectors that have members (a replay may cover a few sectors).
        self.factors = MarketFactors(
            config.seed, self.days, config.episodes, member_sectors=self.universe.initial_sector.tolist()
        )
        self._cache: OrderedDict[str, SymbolSeries] = OrderedDict()
        self._lock = threading.Lock()
        self.now: datetime | None = config.now

    # -- clock ---------------------------------------------------------------------------------------------
    def _now_kst(self) -> datetime | None:
        if self.now is None:
            return None
        return self.now.replace(tzinfo=KST) if self.now.tzinfo is None else self.now.astimezone(KST)

    def cutoff(self) -> np.datetime64:
        """Last day whose daily data is final under the simulated clock (the last day when no clock is
        set)."""
        now = self._now_kst()
        if now is None:
            return self.days[-1]
        today = np.datetime64(now.date(), "D")
        limit = today if now.time() >= MARKET_CLOSE_FINAL else today - np.timedelta64(1, "D")
        index = int(np.searchsorted(self.days, limit, "right")) - 1
        return self.days[max(index, 0)] if index >= 0 else self.days[0] - np.timedelta64(1, "D")

    def pending_today(self) -> date | None:
        """Today's trading day while it is still before the close, else None."""
        now = self._now_kst()
        if now is None or now.time() >= MARKET_CLOSE_FINAL:
            return None
        today = np.datetime64(now.date(), "D")
        position = int(np.searchsorted(self.days, today))
        return now.date() if position < len(self.days) and self.days[position] == today else None

    def latest_day(self) -> np.datetime64:
        return min(self.cutoff(), self.days[-1])

    # -- symbols -------------------------------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return [str(s) for s in self.universe.symbols]

    def position(self, symbol: str) -> int:
        found = self.universe.positions.get(symbol)
        if found is None:
            raise UnknownSymbolError(symbol)
        return found

    def series(self, symbol: str) -> SymbolSeries:
        with self._lock:
            cached = self._cache.get(symbol)
            if cached is not None:
                self._cache.move_to_end(symbol)
                return cached
        built = self._build(self.position(symbol))
        with self._lock:
            self._cache[symbol] = built
            while len(self._cache) > self.config.symbol_cache_size:
                self._cache.popitem(last=False)
        return built

    def _build(self, index: int) -> SymbolSeries:
        u = self.universe
        symbol, market = str(u.symbols[index]), str(u.markets[index])
        draws = Streams(self.config.seed, 10, symbol_key(symbol))
        if self._replay is None:
            days = self.days
            positions = np.arange(len(days))
            sector_path = u.sector_path(index, len(days))
            regime = self.factors.regime
            prices = model_prices(
                draws(0),
                self.factors,
                market,
                sector_path,
                float(u.base_price[index]),
                int(u.listed_shares[index]),
                short_allowed(regime, bool(u.index_member[index])),
            )
        else:
            recorded = self._replay[symbol]
            days = recorded.days
            positions = np.searchsorted(self.days, days)
            sector_path = np.full(len(days), u.initial_sector[index], dtype=np.int16)
            regime = short_regime(days)
            prices = _replay_prices(recorded)
        tilt = self.factors.flow_tilt[positions, sector_path]
        series = build_series(
            draws, symbol, days, sector_path, market, prices, regime, tilt, bool(u.index_member[index])
        )
        if self._replay is not None:
            serve_recorded_flows(series, self._replay[symbol])
        return series

    def sector_at(self, symbol: str, day: np.datetime64) -> int:
        index = self.position(symbol)
        path = self.universe.sector_path(index, len(self.days))
        position = min(int(np.searchsorted(self.days, day, "right")) - 1, len(self.days) - 1)
        return int(path[max(position, 0)])


def _replay_prices(recorded: ReplaySymbol) -> PriceBlock:
    previous = np.concatenate([recorded.close[:1], recorded.close[:-1]])
    returns = np.log(recorded.close / previous)
    return PriceBlock(
        recorded.open,
        recorded.high,
        recorded.low,
        recorded.close,
        previous,
        recorded.volume,
        recorded.value,
        returns,
        np.zeros(len(recorded.close), dtype=bool),
    )
