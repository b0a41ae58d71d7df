"""The stock universe: codes, names, markets, point-in-time sectors, listed shares, index membership, and
how it changes over time (listings, delistings, trading halts).

Everything here is small (one row per symbol) and generated once from the seed. The changes come from
their own random stream, so switching them off (rates 0) leaves every other number unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kis_intel_assets.simulator.sectors import SECTORS, sectors_of

_SYLLABLES = list("한국대성동서남북신세진영광명일우정현태화삼진유라미소하나두리온새빛솔결누리")
_SUFFIX_BY_KEYWORD = {
    "전기": ["전자", "반도체", "디스플레이", "테크"],
    "전자": ["전자", "반도체", "테크"],
    "제약": ["제약", "바이오", "팜"],
    "화학": ["화학", "케미칼", "소재"],
    "금융": ["금융지주", "캐피탈", "파이낸셜"],
    "IT": ["소프트", "정보통신", "시스템"],
    "기계": ["기계", "정공", "엔지니어링"],
    "운송장비": ["모비스", "오토", "정밀"],
    "건설": ["건설", "산업개발"],
    "유통": ["리테일", "상사", "유통"],
    "음식료": ["식품", "푸드", "제과"],
    "의료": ["메디칼", "헬스케어"],
    "오락": ["엔터", "미디어", "게임즈"],
    "증권": ["증권", "투자증권"],
    "보험": ["생명", "화재해상"],
    "통신": ["텔레콤", "네트웍스"],
}
_DEFAULT_SUFFIX = ["산업", "홀딩스", "", "글로벌", "코리아"]
KOSPI_SHARE = 950 / 2500


@dataclass(frozen=True)
class SectorChange:
    symbol_index: int
    day_index: int
    sector_index: int


@dataclass(frozen=True)
class Halt:
    """A trading halt (거래정지): days [first_day, last_day] trade nothing at the previous close."""

    symbol_index: int
    first_day: int
    last_day: int


@dataclass(frozen=True)
class UniverseChanges:
    listed_from: np.ndarray  # day index of the first listed day (0 = listed before the first day)
    listed_until: np.ndarray  # day index after the last listed day (n_days = still listed)
    halts: tuple[Halt, ...]


@dataclass
class Universe:
    symbols: np.ndarray  # str codes
    names: list[str]
    markets: np.ndarray  # "KOSPI"/"KOSDAQ"
    initial_sector: np.ndarray  # index into SECTORS
    listed_shares: np.ndarray  # int64
    base_price: np.ndarray  # float, price level at the first day
    index_member: np.ndarray  # bool: KOSPI200 / KOSDAQ150 constituent (short regime 2021-05..2023-11)
    sector_changes: tuple[SectorChange, ...]
    changes: UniverseChanges | None = None  # None: every symbol trades every day
    positions: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.positions = {str(s): i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def listed_span(self, symbol_index: int, n_days: int) -> tuple[int, int]:
        """Half-open day-index range in which the symbol is listed."""
        if self.changes is None:
            return 0, n_days
        return int(self.changes.listed_from[symbol_index]), int(self.changes.listed_until[symbol_index])

    def halted(self, symbol_index: int, n_days: int) -> np.ndarray:
        mask = np.zeros(n_days, dtype=bool)
        for halt in self.changes.halts if self.changes else ():
            if halt.symbol_index == symbol_index:
                mask[halt.first_day : halt.last_day + 1] = True
        return mask

    def sector_path(self, symbol_index: int, n_days: int) -> np.ndarray:
        """Sector index for every day (point in time, following the planted reclassifications)."""
        path = np.full(n_days, self.initial_sector[symbol_index], dtype=np.int16)
        for change in self.sector_changes:
            if change.symbol_index == symbol_index:
                path[change.day_index :] = change.sector_index
        return path


def _allocate_counts(weights: np.ndarray, total: int) -> np.ndarray:
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _names(rng: np.random.Generator, sector_idx: np.ndarray) -> list[str]:
    taken: set[str] = set()
    names: list[str] = []
    for sector in sector_idx:
        sector_name = SECTORS[int(sector)].name
        suffixes = next((v for k, v in _SUFFIX_BY_KEYWORD.items() if k in sector_name), _DEFAULT_SUFFIX)
        while True:
            stem = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4))))
            name = stem + str(rng.choice(suffixes))
            if name not in taken:
                break
        taken.add(name)
        names.append(name)
    return names


def _events(rate_per_year: float, n_symbols: int, n_days: int) -> int:
    """Event count for a universe: the KRX rate per 2,500 stocks, scaled to size and span (rounded down)."""
    return int(rate_per_year * n_symbols / 2500 * n_days / 250)


def build_changes(
    seed: int, n_symbols: int, n_days: int, rates: tuple[float, float, float], protected: np.ndarray
) -> UniverseChanges:
    """Listings, delistings and halts at (listings, delistings, halts) per year per 2,500 stocks.

    Index members (`protected`) never list late or delist, so the short-selling regimes keep their
    constituents; each symbol gets at most one kind of event.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0, 2]))
    listed_from = np.zeros(n_symbols, dtype=np.int64)
    listed_until = np.full(n_symbols, n_days, dtype=np.int64)
    counts = [_events(rate, n_symbols, n_days) for rate in rates]
    candidates = rng.permutation(np.flatnonzero(~protected))
    n_list, n_delist, n_halt = (min(c, len(candidates) // 3) for c in counts)
    if n_days < 10:
        n_list = n_delist = n_halt = 0
    listing = candidates[:n_list]
    delisting = candidates[n_list : n_list + n_delist]
    halting = candidates[n_list + n_delist : n_list + n_delist + n_halt]
    listed_from[listing] = rng.integers(1, n_days - 1, len(listing))
    listed_until[delisting] = rng.integers(2, n_days, len(delisting))
    halts = []
    for symbol_index in halting:
        first = int(rng.integers(1, n_days - 1))
        halts.append(Halt(int(symbol_index), first, min(n_days - 1, first + int(rng.integers(0, 5)))))
    return UniverseChanges(listed_from, listed_until, tuple(sorted(halts, key=lambda h: h.symbol_index)))


def build_universe(seed: int, n_symbols: int, n_days: int, reserved_codes: set[str]) -> Universe:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    n_kospi = min(max(2, round(n_symbols * KOSPI_SHARE)), n_symbols - 2)
    markets = np.array(["KOSPI"] * n_kospi + ["KOSDAQ"] * (n_symbols - n_kospi))

    sector_idx = np.empty(n_symbols, dtype=np.int16)
    for market, members in (("KOSPI", np.arange(n_kospi)), ("KOSDAQ", np.arange(n_kospi, n_symbols))):
        candidates = np.array(sectors_of(market))
        counts = _allocate_counts(np.array([SECTORS[i].weight for i in candidates]), len(members))
        sector_idx[members] = rng.permutation(np.repeat(candidates, counts))

    pool = np.array(
        [f"{v * 10:06d}" for v in rng.choice(np.arange(1, 50000), size=n_symbols * 2, replace=False)]
    )
    codes = np.array([c for c in pool if c not in reserved_codes][:n_symbols])

    is_kospi = markets == "KOSPI"
    log_cap = np.where(is_kospi, np.log(3e11), np.log(1e11)) + 1.2 * rng.standard_t(4, n_symbols)
    market_cap = np.clip(np.exp(log_cap), 5e9, 4e14)
    price = np.clip(
        np.exp(np.where(is_kospi, np.log(15000), np.log(7000)) + rng.normal(0, 1.0, n_symbols)), 600, 9e5
    )
    listed_shares = np.maximum(np.round(market_cap / price), 100_000).astype(np.int64)

    index_member = np.zeros(n_symbols, dtype=bool)
    for market, full_size, full_count in (("KOSPI", 950, 200), ("KOSDAQ", 1550, 150)):
        members = np.flatnonzero(markets == market)
        quota = max(1, round(len(members) * full_count / full_size))
        ranked = members[np.argsort(-market_cap[members], kind="stable")]
        index_member[ranked[:quota]] = True

    n_changes = max(1, round(n_symbols * 0.04)) if n_days > 40 else 0
    changes = []
    for symbol_index in rng.choice(n_symbols, size=n_changes, replace=False):
        options = [i for i in sectors_of(str(markets[symbol_index])) if i != sector_idx[symbol_index]]
        day = int(rng.integers(n_days // 4, max(n_days // 4 + 1, 3 * n_days // 4)))
        changes.append(SectorChange(int(symbol_index), day, int(rng.choice(options))))

    return Universe(
        symbols=codes,
        names=_names(rng, sector_idx),
        markets=markets,
        initial_sector=sector_idx,
        listed_shares=listed_shares,
        base_price=price,
        index_member=index_member,
        sector_changes=tuple(sorted(changes, key=lambda c: (c.symbol_index, c.day_index))),
    )
