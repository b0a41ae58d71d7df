"""Kiwoom client configuration; credentials are `Secret`s so printing a config never leaks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kis_intel_assets.kis.config import RetrySettings, TokenSettings
from kis_intel_assets.kis.secrets import Secret, as_secret

REAL_BASE_URL = "https://api.kiwoom.com"
MOCK_BASE_URL = "https://mockapi.kiwoom.com"  # KRX only (docs/kiwoom_api.md)
# Kiwoom publishes no requests-per-second figure; community clients use 2-10/s (docs/kiwoom_api.md).
DEFAULT_RATE_LIMIT_PER_SEC = 5.0
KRW_MILLION = 1_000_000
# Multiplier from the wire value to KRW per dataset. UNVERIFIED (docs/kiwoom_api.md "Not sourced"): chosen to
# match the KIS datasets; change here if live answers show another unit.
DEFAULT_AMOUNT_UNITS: Mapping[str, int] = MappingProxyType(
    {"investor": KRW_MILLION, "sector": KRW_MILLION, "program": 1, "short": 1, "lending": 1}
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
    rate_limit_per_sec: float = DEFAULT_RATE_LIMIT_PER_SEC
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
        missing = set(DEFAULT_AMOUNT_UNITS) - set(self.amount_units)
        if missing:
            raise ValueError(f"amount_units lacks {sorted(missing)}")
