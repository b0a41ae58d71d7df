"""Client configuration; credentials are `Secret`s so printing a config never leaks them."""

from __future__ import annotations

from dataclasses import dataclass, field

from kis_intel_assets.kis.ratelimit import check_budget
from kis_intel_assets.kis.secrets import Secret, as_secret

REAL_BASE_URL = "https://openapi.koreainvestment.com:9443"
PAPER_BASE_URL = "https://openapivts.koreainvestment.com:29443"
MASTER_BASE_URL = "https://new.real.download.dws.co.kr/common/master"
REAL_RATE_LIMIT_PER_SEC = 20.0
PAPER_RATE_LIMIT_PER_SEC = 2.0
MARKET_DIVISIONS = ("J", "NX", "UN")


@dataclass(frozen=True)
class RetrySettings:
    """Bounded exponential backoff with full jitter: sleep ~ U(0, min(cap, base * 2**attempt))."""

    max_attempts: int = 5
    backoff_base_seconds: float = 0.25
    backoff_cap_seconds: float = 8.0


@dataclass(frozen=True)
class TokenSettings:
    """EGW00133 allows one issuance per minute per app key, so the wait defaults to a full minute."""

    expiry_margin_seconds: float = 600.0
    issuance_retry_wait_seconds: float = 61.0
    issuance_max_attempts: int = 4


@dataclass(frozen=True)
class KISConfig:
    app_key: Secret
    app_secret: Secret
    database_url: Secret
    paper: bool = False
    base_url: str = ""
    master_base_url: str = MASTER_BASE_URL
    rate_limit_per_sec: float | None = None
    # A budget below the key's limit, e.g. 0.9 when another tool shares the key. Not needed against jitter:
    # the limiter's slots keep every server window within the limit (ratelimit.py).
    rate_limit_safety: float = 1.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 15.0
    max_pages: int = 50
    # FID_COND_MRKT_DIV_CODE of the per-stock quotation TRs: J = KRX (the product's scope: KRX statistics
    # and overheat rules are J), NX = Nextrade, UN = both; UN changes volumes and foreign net buying.
    market_division: str = "J"
    retry: RetrySettings = field(default_factory=RetrySettings)
    token: TokenSettings = field(default_factory=TokenSettings)

    def __post_init__(self) -> None:
        for name in ("app_key", "app_secret", "database_url"):
            object.__setattr__(self, name, as_secret(getattr(self, name)))
        if not self.base_url:
            object.__setattr__(self, "base_url", PAPER_BASE_URL if self.paper else REAL_BASE_URL)
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "master_base_url", self.master_base_url.rstrip("/"))
        if self.market_division not in MARKET_DIVISIONS:
            raise ValueError(
                f"market_division must be one of {MARKET_DIVISIONS}, got {self.market_division!r}"
            )
        if not 0 < self.rate_limit_safety <= 1:
            raise ValueError(f"rate_limit_safety must be in (0, 1], got {self.rate_limit_safety}")
        if self.rate_limit_per_sec is not None:
            check_budget(self.rate_limit_per_sec, "rate_limit_per_sec")
        for name, most in (("connect_timeout_seconds", 60.0), ("read_timeout_seconds", 300.0)):
            if not 0 < getattr(self, name) <= most:
                raise ValueError(f"{name} must be above 0 and at most {most:g}, got {getattr(self, name)!r}")

    @property
    def effective_rate_per_sec(self) -> float:
        """The pace actually used: the account's limit (20/s real, 2/s paper unless set) times the margin."""
        limit = self.rate_limit_per_sec
        if limit is None:
            limit = PAPER_RATE_LIMIT_PER_SEC if self.paper else REAL_RATE_LIMIT_PER_SEC
        return limit * self.rate_limit_safety
