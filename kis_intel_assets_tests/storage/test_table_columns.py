"""The column schemas read from the sql/ files are what a migrated database holds, column for column."""

from __future__ import annotations

from kis_intel_assets.storage import connect
from kis_intel_assets.storage.table_columns import Column, migrated_tables, table_columns


def test_columns_read_from_the_migrations_match_the_migrated_database(database_url: str) -> None:
    with connect(database_url) as conn:
        rows = conn.execute(
            """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0
                  AND NOT a.attisdropped AND c.relname <> 'schema_migrations'
                ORDER BY c.relname, a.attnum"""
        ).fetchall()
    database: dict[str, list[Column]] = {}
    for table, name, type_, nullable in rows:
        database.setdefault(table, []).append(Column(name, type_, nullable))
    assert len(database) >= 20
    for table, columns in database.items():
        assert table_columns(table) == columns, table
    assert set(migrated_tables()) <= set(database)
