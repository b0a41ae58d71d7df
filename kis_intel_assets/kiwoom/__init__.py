"""Kiwoom REST client (pure Python, no Dagster): the optional second broker source beside KIS.

Same layering as kis_intel_assets.kis: a registry of sourced TRs (endpoints.py, docs/kiwoom_api.md), au10001
tokens in the shared encrypted store, the shared PostgreSQL limiter, typed errors and strict parsing.
"""

from kis_intel_assets.kiwoom.config import KiwoomConfig
from kis_intel_assets.kiwoom.datasets import KiwoomClient
from kis_intel_assets.kiwoom.endpoints import ENDPOINTS, KiwoomEndpoint, endpoint
from kis_intel_assets.kiwoom.errors import KiwoomAPIError, KiwoomBatchLimitError, KiwoomTokenError

__all__ = [
    "ENDPOINTS",
    "KiwoomAPIError",
    "KiwoomBatchLimitError",
    "KiwoomClient",
    "KiwoomConfig",
    "KiwoomEndpoint",
    "KiwoomTokenError",
    "endpoint",
]
