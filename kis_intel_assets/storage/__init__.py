"""PostgreSQL storage: connections, the embedded default server, bulk upserts and sql/ migrations."""

from kis_intel_assets.storage.database import (
    KST,
    KST_DAY_TABLES,
    ConfigurationError,
    DatabaseTimeouts,
    DatabaseUnavailableError,
    connect,
    database_label,
    env_number,
    fetch_frame,
    kst_day,
    kst_midnight,
    redact_url,
    resolve_database_url,
    upsert_frame,
)
from kis_intel_assets.storage.migrations import migrate

__all__ = [
    "KST",
    "KST_DAY_TABLES",
    "ConfigurationError",
    "DatabaseTimeouts",
    "DatabaseUnavailableError",
    "connect",
    "database_label",
    "env_number",
    "fetch_frame",
    "kst_day",
    "kst_midnight",
    "migrate",
    "redact_url",
    "resolve_database_url",
    "upsert_frame",
]
