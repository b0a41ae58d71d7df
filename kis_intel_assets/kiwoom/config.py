"""Kiwoom client configuration; credentials are `Secret`s so printing a config never leaks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kis_intel_assets.kis.config import RetrySettings, TokenSettings
from kis_intel_assets.kis.secrets import Secret, as_secret

REAL_BASE_URL = "https://api.kiwoom.com"
MOCK_BASE_URL = "https://mockapi.kiwoom.com"  # KRX only (docs/kiwoom_api.md)
# Requests per second per app key and TR: Kiwoom's [1700] answer states "유량=5" for a TR, and each TR has
# its own bucket (docs/kiwoom_api.md "Request limits").
DEFAULT_RATE_LIMIT_PER_SEC = 5.0
PER_TR = "per_tr"  # one bucket per (app key, TR): the sourced rule
PER_KEY = "per_key"  # one bucket for the whole key: for a server that turns out to count so
RATE_LIMIT_SCOPES = (PER_TR, PER_KEY)
KRW_MILLION = 1_000_000
# Multiplier from the wire value to KRW per dataset. UNVERIFIED (docs/kiwoom_api.md "Not sourced"): chosen to
# match the KIS datasets; change here if live answers show another unit.
DEFAULT_AMOUNT_UNITS: Mapping[str, int] = MappingProxyType(
    {"investor": KRW_MILLION, "program": 1, "short": 1, "lending": 1}
)


def _kiwoom_token_settings() -> TokenSettings:
    """Kiwoom documents no issuance-frequency rule, so a refused issuance is retried after seconds."""
    return TokenSettings(issuance_retry_wait_seconds=2.0, issuance_max_attempts=3)


@dataclass(frozen=True)
class KiwoomConfig:
    app_key: Secret
    app_secret: Secret  # Kiwoom calls it `secretkey`
    database_url: Secret
    base_url: str = REAL_BASE_URL
    # Requests per second per TR, or for the whole key when rate_limit_scope is per_key.
    rate_limit_per_sec: float = DEFAULT_RATE_LIMIT_PER_SEC
    rate_limit_scope: str = PER_TR
    # A key-wide cap on top of the TRs' budgets (Kiwoom's [1701] total limit; its figure is not sourced).
    total_rate_limit_per_sec: float | None = None
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 15.0
    max_pages: int = 50
    # The least wait after a [1700] answer: the server's window is about a second (HOGA reads "유량=5").
    rate_limit_wait_seconds: float = 1.0
    amount_units: Mapping[str, int] = field(default_factory=lambda: DEFAULT_AMOUNT_UNITS)
    retry: RetrySettings = field(default_factory=RetrySettings)
    token: TokenSettings = field(default_factory=_kiwoom_token_settings)

    def __post_init__(self) -> None:
        for name in ("app_key", "app_secret", "database_url"):
            object.__setattr__(self, name, as_secret(getattr(self, name)))
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.rate_limit_per_sec <= 0:
            raise ValueError(f"rate_limit_per_sec must be positive, got {self.rate_limit_per_sec}")
        if self.rate_limit_scope not in RATE_LIMIT_SCOPES:
            raise ValueError(
                f"rate_limit_scope must be {PER_TR!r} (a budget per TR, Kiwoom's rule) or {PER_KEY!r} (one "
                f"budget for the whole key), got {self.rate_limit_scope!r}"
            )
        if self.total_rate_limit_per_sec is not None and self.total_rate_limit_per_sec <= 0:
            raise ValueError(
                "total_rate_limit_per_sec must be positive or None (no cap), "
                f"got {self.total_rate_limit_per_sec}"
            )
        missing = set(DEFAULT_AMOUNT_UNITS) - set(self.amount_units)
        if missing:
            raise ValueError(f"amount_units lacks {sorted(missing)}")
