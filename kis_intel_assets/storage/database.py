"""Connections and bulk idempotent writes.

Every asset writes through :func:`upsert_frame`, so a re-run of a partition replaces its rows instead of
duplicating them, and a failure part-way through a batch leaves the table exactly as it was.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.numeric import FloatLoader

DATABASE_URL_ENV = "KIS_INTEL_DATABASE_URL"
HOME_ENV = "KIS_INTEL_HOME"
EMBEDDED_DATABASE = "kis_intel"


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the setting and never carries secrets."""


def redact_url(url: str) -> str:
    """Hide the password of a database URL so it can appear in errors and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def project_home() -> Path:
    """Where the embedded database and other local state live (project-local by default)."""
    return Path(os.environ.get(HOME_ENV, ".kis-intel")).resolve()


def resolve_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The server named by KIS_INTEL_DATABASE_URL, or else an embedded PostgreSQL under KIS_INTEL_HOME.

    The embedded server (pgserver, PostgreSQL 16 bundled in a wheel) lets the quick start run on a machine
    that has no database server at all.
    """
    environ = os.environ if environ is None else environ
    url = environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                f"{DATABASE_URL_ENV} must be a postgresql:// URL, got {redact_url(url)!r}"
            )
        return url
    return _embedded_database_url()


def _embedded_database_url() -> str:
    from kis_intel_assets.storage.embedded import open_server  # lazily: only needed without a server

    home = project_home()
    home.mkdir(parents=True, exist_ok=True)
    server = open_server(home / "pgdata")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
    return server.get_uri(EMBEDDED_DATABASE)


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10) -> psycopg.Connection:
    """Open a connection whose numeric columns load as floats, so ratios compare as numbers."""
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"cannot connect to the database named by {DATABASE_URL_ENV} ({redact_url(url)}): {reason}"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(f"{DATABASE_URL_ENV} is not a valid connection URL: {exc}") from None
    conn.adapters.register_loader("numeric", FloatLoader)
    return conn


@contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work commits on success and rolls back completely on any error."""
    with connect(url) as conn, conn.transaction():
        yield conn


def fetch_frame(
    conn: psycopg.Connection,
    query: str | sql.Composable,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run a query and return its rows as a DataFrame with the query's column names."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def upsert_frame(
    conn: psycopg.Connection,
    table: str,
    frame: pd.DataFrame,
    key_columns: Sequence[str],
) -> int:
    """Write `frame` into `table`: COPY into a temporary table, then one INSERT … ON CONFLICT DO UPDATE.

    Runs inside one transaction (a savepoint when the caller already has one open), so either every
    row lands or none does. Returns the number of rows written.
    """
    if frame.empty:
        return 0
    columns = list(frame.columns)
    missing_keys = [k for k in key_columns if k not in columns]
    if missing_keys:
        raise ValueError(f"upsert into {table}: key columns {missing_keys} are not in the frame")
    duplicated = frame.duplicated(subset=list(key_columns))
    if duplicated.any():
        sample = frame.loc[duplicated, list(key_columns)].head(3).to_dict("records")
        raise ValueError(f"upsert into {table}: duplicate keys in the batch, e.g. {sample}")

    staging = f"_staging_{table}"
    ident_cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    updates = [c for c in columns if c not in key_columns]
    conflict_action = (
        sql.SQL("DO UPDATE SET {}").format(
            sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates)
        )
        if updates
        else sql.SQL("DO NOTHING")
    )
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                sql.Identifier(staging), sql.Identifier(table)
            )
        )
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(staging), ident_cols)) as copy:
            for row in _rows(frame):
                copy.write_row(row)
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                sql.Identifier(table),
                ident_cols,
                ident_cols,
                sql.Identifier(staging),
                sql.SQL(", ").join(map(sql.Identifier, key_columns)),
                conflict_action,
            )
        )
        written = cur.rowcount
        cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
    return written


def _rows(frame: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
    """Rows as plain Python values, with pandas' missing markers turned into SQL NULL."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    for row in cleaned.itertuples(index=False, name=None):
        yield tuple(_plain(v) for v in row)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalar -> Python scalar
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value
