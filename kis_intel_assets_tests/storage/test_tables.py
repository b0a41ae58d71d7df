"""The table registry says what the migrations and the asset graph say: keys, writers, day columns."""

from __future__ import annotations

import pandas as pd
import pytest

from kis_intel_assets.definitions import defs
from kis_intel_assets.storage import KST_DAY_TABLES, TABLES, connect, registered_table, upsert_frame
from kis_intel_assets.storage.table_columns import table_columns


def test_every_registered_key_is_the_primary_key_of_the_migrated_table(database_url: str) -> None:
    with connect(database_url) as conn:
        rows = conn.execute(
            """SELECT c.relname, array_agg(a.attname::text ORDER BY k.position)
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                WHERE i.indisprimary AND n.nspname = current_schema()
                GROUP BY c.relname"""
        ).fetchall()
    primary_keys = {table: tuple(columns) for table, columns in rows}
    assert len(TABLES) >= 19
    for name, table in TABLES.items():
        assert primary_keys.get(name) == table.key, name


def test_every_table_an_asset_writes_is_registered_with_that_asset() -> None:
    graph = defs.resolve_asset_graph()
    written = {
        graph.get(key).metadata["dagster/table_name"]: key.to_user_string()
        for key in graph.get_all_asset_keys()
        if "dagster/table_name" in graph.get(key).metadata
    }
    assert {name: table.asset for name, table in TABLES.items()} == written


def test_day_and_provisional_tables_have_the_columns_their_rules_use() -> None:
    """A KST-day table stores the day as a timestamptz (RFC-010); a superseded table has the flag."""
    assert {"investor_trends", "short_selling", "program_trading", "sector_rotation"} == KST_DAY_TABLES
    for name in KST_DAY_TABLES:
        time = next(c for c in table_columns(name) if c.name == "time")
        assert time.type == "timestamp with time zone", name
    superseded = {table.supersedes: name for name, table in TABLES.items() if table.supersedes}
    assert superseded == {
        "intraday_program_trading": "program_trading",
        "intraday_investor_estimates": "investor_trends",
    }
    for provisional in superseded:
        assert provisional in TABLES
        assert "superseded" in {c.name for c in table_columns(provisional)}, provisional


def test_an_unregistered_table_is_refused_before_anything_is_written(database_url: str) -> None:
    with pytest.raises(KeyError, match="not registered"):
        registered_table("alert_outbox")
    with connect(database_url) as conn, pytest.raises(KeyError, match="'alert_outbox' is not registered"):
        upsert_frame(conn, "alert_outbox", pd.DataFrame({"alert_id": ["a"]}))
