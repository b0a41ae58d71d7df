"""PostgreSQL storage: connections, the embedded default server, the table registry, bulk upserts and sql/
migrations."""

from kis_intel_assets.storage.database import (
    KST,
    ConfigurationError,
    DatabaseTimeouts,
    DatabaseUnavailableError,
    connect,
    database_label,
    execute_reconnecting,
    fetch_frame,
    kst_day,
    kst_midnight,
    redact_url,
    resolve_database_url,
    upsert_frame,
)
from kis_intel_assets.storage.migrations import migrate
from kis_intel_assets.storage.tables import KST_DAY_TABLES, TABLES, Table, registered_table

__all__ = [
    "KST",
    "KST_DAY_TABLES",
    "TABLES",
    "ConfigurationError",
    "DatabaseTimeouts",
    "DatabaseUnavailableError",
    "Table",
    "connect",
    "database_label",
    "execute_reconnecting",
    "fetch_frame",
    "kst_day",
    "kst_midnight",
    "migrate",
    "redact_url",
    "registered_table",
    "resolve_database_url",
    "upsert_frame",
]
