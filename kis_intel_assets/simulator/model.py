"""The market model a simulator serves: universe + shared factors + lazily built, LRU-cached symbol series,
and the simulated clock that decides which days are final."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, time

import numpy as np

from kis_intel_assets import krx_calendar
from kis_intel_assets.simulator.clock import (
    DEFAULT_PUBLICATION,
    GENERIC,
    MASTER_READY,
    Publication,
    SimClock,
    default_now,
    session_fraction,
)
from kis_intel_assets.simulator.config import SimulatorConfig
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
from kis_intel_assets.simulator.universe import build_changes, build_universe

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
            rates = (config.listings_per_year, config.delistings_per_year, config.halts_per_year)
            self.universe.changes = build_changes(
                config.seed, config.n_symbols, len(self.days), rates, self.universe.index_member
            )
        else:
            self.universe = replay_universe(config.seed, list(self._replay.values()))
        # Episodes go only to sectors that have members (a replay may cover a few sectors).
        self.factors = MarketFactors(
            config.seed, self.days, config.episodes, member_sectors=self.universe.initial_sector.tolist()
        )
        self._cache: OrderedDict[str, SymbolSeries] = OrderedDict()
        self._lock = threading.Lock()
        self.clock = SimClock(config.now, config.time_offset, running=config.clock_running)
        self._publication = {**DEFAULT_PUBLICATION, **(config.publication or {})}
        # Planted differences of the official 공매도 과열종목 list from the KRX rule (simulator/overheat.py).
        self.overheat_differences = tuple(config.overheat_differences)

    # -- clock ---------------------------------------------------------------------------------------------
    def now_kst(self) -> datetime:
        """The simulated time; with no clock set, after the after-hours session of the last day."""
        return self.clock.now() or default_now(self.days[-1].astype(date))

    def publication(self, tr_id: str | None) -> Publication:
        return self._publication.get(tr_id, GENERIC) if tr_id else GENERIC

    def cutoff(self, tr_id: str | None = None) -> np.datetime64:
        """Last day whose daily data `tr_id` serves as final under the simulated clock."""
        publication = self.publication(tr_id)
        return self._last_day_from(publication.final_after, publication.days_late)

    def master_day(self) -> np.datetime64:
        """The trading day the served master files describe: today's from MASTER_READY KST on, else the
        previous trading day's (a weekend or a holiday serves the last trading day's files)."""
        return self._last_day_from(MASTER_READY)

    def _last_day_from(self, ready: time, days_late: int = 0) -> np.datetime64:
        """Last configured day whose `ready` KST time has passed on the simulated clock, `days_late`
        trading days further back for data published that late."""
        now = self.now_kst()
        today = np.datetime64(now.date(), "D")
        limit = today if now.time() >= ready else today - np.timedelta64(1, "D")
        if days_late:
            limit = np.datetime64(_trading_days_back(limit.astype(date), days_late), "D")
        index = int(np.searchsorted(self.days, limit, "right")) - 1
        return self.days[index] if index >= 0 else self.days[0] - np.timedelta64(1, "D")

    def pending_today(self, tr_id: str | None = None) -> date | None:
        """Today's trading day while `tr_id`'s data for it is not final yet, else None."""
        now = self.now_kst()
        if now.time() >= self.publication(tr_id).final_after:
            return None
        today = np.datetime64(now.date(), "D")
        position = int(np.searchsorted(self.days, today))
        return now.date() if position < len(self.days) and self.days[position] == today else None

    def session_fraction(self) -> float:
        return session_fraction(self.now_kst().time())

    def latest_day(self) -> np.datetime64:
        return min(self.cutoff(), self.days[-1])

    def is_listed(self, symbol: str, day: np.datetime64) -> bool:
        index = self.position(symbol)
        lo, hi = self.universe.listed_span(index, len(self.days))
        position = int(np.searchsorted(self.days, day, "right")) - 1
        return lo <= position < hi

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
            # The whole path is drawn for every day and then cut to the listed span, so a listing or a
            # delisting changes nothing else about the symbol.
            lo, hi = u.listed_span(index, len(self.days))
            positions = np.arange(lo, hi)
            days = self.days[lo:hi]
            sector_path = u.sector_path(index, len(self.days))
            regime = self.factors.regime
            full = model_prices(
                draws(0),
                self.factors,
                market,
                sector_path,
                float(u.base_price[index]),
                int(u.listed_shares[index]),
                short_allowed(regime, bool(u.index_member[index])),
            )
            prices = _listed(_halted(full, u.halted(index, len(self.days))), lo, hi)
            sector_path, regime = sector_path[lo:hi], regime[lo:hi]
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


def _trading_days_back(day: date, count: int) -> date:
    """The KRX trading day `count` sessions before the last one on or before `day` (whose publication
    time has passed): the newest day a TR publishing `count` trading days late has out."""
    latest = day if krx_calendar.is_trading_day(day) else krx_calendar.previous_trading_day(day)
    for _ in range(count):
        latest = krx_calendar.previous_trading_day(latest)
    return latest


def _halted(prices: PriceBlock, halted: np.ndarray) -> PriceBlock:
    """Halted days trade nothing: open = high = low = close = the last traded close, volume 0."""
    if not halted.any():
        return prices
    close = prices.close.copy()
    for i in np.flatnonzero(halted):
        close[i] = close[i - 1] if i > 0 else prices.previous_close[0]
    previous = np.concatenate([prices.previous_close[:1], close[:-1]])
    traded = ~halted
    return PriceBlock(
        np.where(traded, prices.open, close),
        np.where(traded, prices.high, close),
        np.where(traded, prices.low, close),
        close,
        previous,
        np.where(traded, prices.volume, 0),
        np.where(traded, prices.value, 0),
        np.where(traded, prices.returns, 0.0),
        prices.attack & traded,
    )


def _listed(prices: PriceBlock, lo: int, hi: int) -> PriceBlock:
    return PriceBlock(*(np.asarray(part)[lo:hi] for part in vars(prices).values()))


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
