"""Applies the versioned files in sql/ exactly once each, in order, safely from many processes at once.

A session-level advisory lock serialises concurrent runners (two Dagster processes starting together, or
a CLI next to a daemon); each file runs in its own transaction and is recorded with its checksum, so an
edited migration that was already applied is reported instead of silently diverging.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from kis_intel_assets import settings
from kis_intel_assets.settings import COMPRESS_AFTER_ENV, RETENTION_ENV, SQL_DIR_ENV
from kis_intel_assets.storage.database import connect

MIGRATION_LOCK_ID = 0x4B49_5301  # "KIS" + 1: one fixed key shared by every runner
MIGRATION_FILE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed, failed, or changed after it was applied."""


@dataclass
class MigrationReport:
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    timescale_statements: list[str] = field(default_factory=list)


def sql_dir() -> Path:
    """The project's sql/ folder (next to the package in a checkout), or KIS_INTEL_SQL_DIR."""
    path = settings.sql_dir() or Path(__file__).resolve().parents[2] / "sql"
    if not path.is_dir():
        raise MigrationError(f"{SQL_DIR_ENV}: migration folder {path} does not exist")
    return path


def migration_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*.sql") if p.is_file())
    bad = [p.name for p in files if not MIGRATION_FILE.match(p.name)]
    if bad:
        raise MigrationError(f"migration files must be named NNN_name.sql: {bad}")
    versions = [p.name[:3] for p in files]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return files


def migrate(url: str, folder: Path | None = None, *, target: str | None = None) -> MigrationReport:
    """Bring the database at `url` up to the newest migration (or up to version `target`, e.g. "016", to
    build a database at an earlier schema); a no-op when it already is."""
    folder = folder or sql_dir()
    if target is not None and not re.fullmatch(r"\d{3}", target):
        raise MigrationError(f"a target version is three digits such as '016', got {target!r}")
    report = MigrationReport()
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version     text PRIMARY KEY,
                       filename    text NOT NULL,
                       checksum    text NOT NULL,
                       applied_at  timestamptz NOT NULL DEFAULT now())"""
            )
            recorded: dict[str, str] = dict(
                conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
            )
            for path in migration_files(folder):
                if target is None or path.name[:3] <= target:
                    _apply(conn, path, recorded, report)
            report.timescale_statements = timescale_plan(conn)
            for statement in report.timescale_statements:
                conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return report


def _apply(conn: psycopg.Connection, path: Path, recorded: dict[str, str], report: MigrationReport) -> None:
    text = path.read_text(encoding="utf-8")
    version, checksum = path.name[:3], hashlib.sha256(text.encode()).hexdigest()
    if version in recorded:
        if recorded[version] != checksum:
            raise MigrationError(
                f"{path.name} changed after it was applied; add a new migration instead of editing it"
            )
        report.already_applied.append(path.name)
        return
    try:
        with conn.transaction():
            conn.execute(text)
            conn.execute(
                "INSERT INTO schema_migrations (version, filename, checksum) VALUES (%s, %s, %s)",
                (version, path.name, checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"{path.name} failed: {str(exc).strip().splitlines()[0]}") from exc
    report.applied.append(path.name)


def timescale_plan(conn: psycopg.Connection) -> list[str]:
    """Statements that turn time-keyed tables into hypertables, or none when TimescaleDB is not available.

    The choice is made from pg_available_extensions, so the same migrations give plain PostgreSQL tables
    (with the same keys) on servers without the extension. Every table with a `time` column in its primary
    key qualifies, so tables added by later migrations are covered without touching this list.
    """
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    if not available:
        return []
    tables = [
        row[0]
        for row in conn.execute(
            """SELECT c.relname
                 FROM pg_index i
                 JOIN pg_class c ON c.oid = i.indrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
                WHERE i.indisprimary AND n.nspname = current_schema() AND a.attname = 'time'
                ORDER BY c.relname"""
        ).fetchall()
    ]
    statements = ["CREATE EXTENSION IF NOT EXISTS timescaledb"]
    for table in tables:
        statements.append(
            sql.SQL("SELECT create_hypertable({}, 'time', if_not_exists => TRUE, migrate_data => TRUE)")
            .format(sql.Literal(table))
            .as_string(conn)
        )
    compress_after = _positive_days(COMPRESS_AFTER_ENV, settings.timescale_compress_after())
    if compress_after:
        for table in tables:
            statements.append(
                sql.SQL(
                    "ALTER TABLE {} SET (timescaledb.compress, timescaledb.compress_orderby = 'time DESC')"
                )
                .format(sql.Identifier(table))
                .as_string(conn)
            )
            statements.append(
                sql.SQL("SELECT add_compression_policy({}, INTERVAL {}, if_not_exists => TRUE)")
                .format(sql.Literal(table), sql.Literal(f"{compress_after} days"))
                .as_string(conn)
            )
    for table, days in retention_settings(tables).items():
        statements.append(
            sql.SQL("SELECT add_retention_policy({}, INTERVAL {}, if_not_exists => TRUE)")
            .format(sql.Literal(table), sql.Literal(f"{days} days"))
            .as_string(conn)
        )
    return statements


def retention_settings(tables: list[str]) -> dict[str, int]:
    """Opt-in retention per table from KIS_INTEL_TIMESCALE_RETENTION, e.g. "intraday_program_trading=30"."""
    raw = settings.timescale_retention()
    retention: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        table, _, days = item.partition("=")
        if table not in tables or not days.isdigit() or int(days) <= 0:
            raise MigrationError(
                f"{RETENTION_ENV}: {item!r} must be <time-keyed table>=<days>, tables: {', '.join(tables)}"
            )
        retention[table] = int(days)
    return retention


def _positive_days(name: str, raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise MigrationError(f"{name} must be a positive number of days, got {raw!r}")
    return int(raw)
