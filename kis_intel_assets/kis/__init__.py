"""KIS Open API client (pure Python, no Dagster): registry, tokens, shared pacing, retries, parsing."""

from kis_intel_assets.kis.client import KISClient, StockInfo, Transport
from kis_intel_assets.kis.config import KISConfig, RetrySettings, TokenSettings
from kis_intel_assets.kis.endpoints import ENDPOINTS, Endpoint, Field, Kind, Paging, endpoint
from kis_intel_assets.kis.errors import (
    KISAPIError,
    KISError,
    KISPayloadError,
    KISTokenError,
    KISTransientError,
)
from kis_intel_assets.kis.secrets import Secret

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "Field",
    "KISAPIError",
    "KISClient",
    "KISConfig",
    "KISError",
    "KISPayloadError",
    "KISTokenError",
    "KISTransientError",
    "Kind",
    "Paging",
    "RetrySettings",
    "Secret",
    "StockInfo",
    "TokenSettings",
    "Transport",
    "endpoint",
]
