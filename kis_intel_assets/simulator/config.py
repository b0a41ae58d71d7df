"""Simulator configuration (one frozen object so a running server's behaviour is fully described by it)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from kis_intel_assets.simulator.clock import KST, TIME_LIMIT_SCOPES, Publication
from kis_intel_assets.simulator.factors import EpisodeParams
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets.simulator.overheat import OverheatDifference
from kis_intel_assets.simulator.paging import PAGING_STYLES, page_size

RATE_LIMIT_STYLES = ("500", "200")
HISTORY_LIMIT_FORMS = ("clip", "refuse")
NO_DATA_FORMS = ("rt7", "empty_row", "zero_price")
MAX_SYMBOLS = 5000  # KRX lists about 2,700 common stocks


def kst_today() -> date:
    return datetime.now(KST).date()


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 7
    n_symbols: int = 2500
    start: date = date(2019, 1, 2)
    end: date | None = None  # None = today in KST
    rate_limit_per_sec: float = 20.0
    paper: bool = False
    faults: FaultSpec | None = None
    rate_limit_style: str = "500"
    # KIS holds a new customer's key to about 3 requests/s for its first days (docs/kis_protocol.md §5):
    # when set, keys in `new_keys` (every key when None) get this per-second limit instead.
    new_key_rate_limit_per_sec: float | None = None
    new_keys: Collection[str] | None = None
    token_ttl_seconds: float = 86400.0
    token_min_interval_seconds: float = 60.0  # KIS: one issuance per minute per app key
    token_reuse_seconds: float = 6 * 3600.0  # KIS: re-issue within 6 h returns the same token
    allowed_keys: Mapping[str, str] | Collection[str] | None = None
    replay_dir: Path | str | None = None
    now: datetime | None = None  # simulated clock; naive values are KST; None = after the close of `end`
    page_size: int = 100  # rows per tr_cont page where KIS's page size is unknown (paging.py)
    page_sizes: Mapping[str, int] = field(default_factory=dict)  # TR ID -> rows per call (paging.py)
    paging_style: str = "known"  # paging.PAGING_STYLES
    time_offset: timedelta | None = None  # alternative clock: real time shifted by this much
    clock_running: bool = False  # `now` advances with real time (the CLI's --now)
    publication: Mapping[str, Publication] | None = None  # per-TR overrides of clock.DEFAULT_PUBLICATION
    time_limit_scope: str = "all"  # FHPTJ04160001 before 15:41: refuse every request, or only today's
    history_limit_form: str = "refuse"  # FHPPG04600001 beyond 8 months: refuse the call, or clip rows
    no_data_form: str = "rt7"  # no rows for a stock and range: rt_cd 7, output2 [{}], or stck_prpr "0"
    listings_per_year: float = 100.0  # per 2,500 stocks (KRX: ~100 a year), scaled to the universe
    delistings_per_year: float = 60.0
    halts_per_year: float = 40.0
    symbol_cache_size: int = 128
    expired_token_http_status: int = 500
    episodes: EpisodeParams | None = None  # planted rotation episodes; None = EpisodeParams() defaults
    # Planted differences of the official 공매도 과열종목 list from the KRX rule (simulator/overheat.py).
    overheat_differences: tuple[OverheatDifference, ...] = ()

    def __post_init__(self) -> None:
        if self.replay_dir is None and not 4 <= self.n_symbols <= MAX_SYMBOLS:
            raise ValueError(
                f"n_symbols must be from 4 (both markets need members) to {MAX_SYMBOLS}, got {self.n_symbols}"
            )
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if not 0 < self.rate_limit_per_sec <= 1000:
            raise ValueError(
                f"rate_limit_per_sec must be above 0 and at most 1000, got {self.rate_limit_per_sec}"
            )
        if self.new_key_rate_limit_per_sec is not None and not 1 <= self.new_key_rate_limit_per_sec <= 100:
            raise ValueError(
                f"new_key_rate_limit_per_sec must be from 1 to 100, got {self.new_key_rate_limit_per_sec}"
            )
        if self.rate_limit_style not in RATE_LIMIT_STYLES:
            raise ValueError(
                f"rate_limit_style must be one of {RATE_LIMIT_STYLES}, got {self.rate_limit_style!r}"
            )
        for name, value, options in (
            ("time_limit_scope", self.time_limit_scope, TIME_LIMIT_SCOPES),
            ("history_limit_form", self.history_limit_form, HISTORY_LIMIT_FORMS),
            ("no_data_form", self.no_data_form, NO_DATA_FORMS),
        ):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}, got {value!r}")
        if self.page_size < 1 or any(size < 1 for size in self.page_sizes.values()):
            raise ValueError(f"page sizes must be >= 1, got {self.page_size} and {dict(self.page_sizes)}")
        if self.paging_style not in PAGING_STYLES:
            raise ValueError(f"paging_style must be one of {PAGING_STYLES}, got {self.paging_style!r}")

    def rows_per_call(self, tr_id: str) -> int:
        """Rows one call (or one tr_cont page) of this TR answers at most (paging.py)."""
        return page_size(tr_id, self.page_size, self.page_sizes)

    @property
    def end_date(self) -> date:
        return self.end if self.end is not None else kst_today()

    @property
    def requests_per_window(self) -> int:
        """Requests admitted per sliding 1-second window; paper mode caps it at KIS's 2/s."""
        rate = min(self.rate_limit_per_sec, 2.0) if self.paper else self.rate_limit_per_sec
        return max(1, int(rate))

    @property
    def new_key_requests_per_window(self) -> int | None:
        rate = self.new_key_rate_limit_per_sec
        return None if rate is None else int(rate)
