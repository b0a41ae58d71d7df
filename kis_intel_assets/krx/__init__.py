"""KRX data-portal client (data.krx.co.kr): optional second source, off unless KRX_ID / KRX_PW are set.

See docs/krx_portal.md for the wire facts and their sources, and client.py for the surface.
"""

from kis_intel_assets.krx.client import BALANCE_COLUMNS, FLOW_COLUMNS, KRXClient
from kis_intel_assets.krx.credentials import KRXCredentials
from kis_intel_assets.krx.errors import (
    KRXBlockedError,
    KRXError,
    KRXLoggedOutError,
    KRXLoginError,
    KRXNotConfiguredError,
    KRXNotPublishedError,
    KRXPayloadError,
    KRXUnavailableError,
)
from kis_intel_assets.krx.publication import PublicationGates

__all__ = [
    "BALANCE_COLUMNS",
    "FLOW_COLUMNS",
    "KRXBlockedError",
    "KRXClient",
    "KRXCredentials",
    "KRXError",
    "KRXLoggedOutError",
    "KRXLoginError",
    "KRXNotConfiguredError",
    "KRXNotPublishedError",
    "KRXPayloadError",
    "KRXUnavailableError",
    "PublicationGates",
]
