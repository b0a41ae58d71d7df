"""PostgreSQL storage: connections, the embedded default server, bulk upserts and sql/ migrations."""

from kis_intel_assets.storage.database import (
    ConfigurationError,
    DatabaseTimeouts,
    DatabaseUnavailableError,
    connect,
    database_label,
    fetch_frame,
    redact_url,
    resolve_database_url,
    upsert_frame,
)
from kis_intel_assets.storage.migrations import migrate

__all__ = [
    "ConfigurationError",
    "DatabaseTimeouts",
    "DatabaseUnavailableError",
    "connect",
    "database_label",
    "fetch_frame",
    "migrate",
    "redact_url",
    "resolve_database_url",
    "upsert_frame",
]
