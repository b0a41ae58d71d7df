"""Migrations are idempotent, safe to run from two processes at once, and choose TimescaleDB by catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from kis_intel_assets.storage import connect, migrate
from kis_intel_assets.storage.migrations import MigrationError, migration_files, sql_dir, timescale_plan


def schema_snapshot(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, is_nullable, numeric_precision, numeric_scale
                 FROM information_schema.columns WHERE table_schema = 'public'
                ORDER BY table_name, column_name"""
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"
        ).fetchall()
        versions = conn.execute("SELECT version, filename FROM schema_migrations ORDER BY version").fetchall()
    return [*columns, *indexes, *versions]


def run_cli(args: list[str], url: str) -> subprocess.Popen:
    env = {**os.environ, "KIS_INTEL_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "kis_intel_assets.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_migrate_twice_leaves_the_same_schema(empty_database_url: str) -> None:
    first = migrate(empty_database_url)
    snapshot = schema_snapshot(empty_database_url)
    second = migrate(empty_database_url)

    assert first.applied == [p.name for p in migration_files(sql_dir())]
    assert second.applied == []
    assert second.already_applied == first.applied
    assert schema_snapshot(empty_database_url) == snapshot


def test_two_processes_migrating_at_once_both_succeed(empty_database_url: str, database_url: str) -> None:
    runners = [run_cli(["db", "migrate"], empty_database_url) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in runners]

    assert [code for code, _, _ in results] == [0, 0], results
    # Exactly one of them applied the files; the other found them applied.
    applied_lines = [out.count("applied 0") for _, out, _ in results]
    assert sorted(applied_lines) == [0, len(migration_files(sql_dir()))]
    assert schema_snapshot(empty_database_url) == schema_snapshot(database_url)


def test_core_tables_have_the_expected_keys(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        keys = dict(
            conn.execute(
                """SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position)
                     FROM information_schema.table_constraints tc
                     JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
                    WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'
                    GROUP BY tc.table_name"""
            ).fetchall()
        )
        big = conn.execute(
            """SELECT data_type FROM information_schema.columns
                WHERE table_name = 'investor_trends' AND column_name = 'foreign_net_value'"""
        ).fetchone()
        ratio = conn.execute(
            """SELECT numeric_precision, numeric_scale FROM information_schema.columns
                WHERE table_name = 'short_selling' AND column_name = 'short_value_ratio'"""
        ).fetchone()
        partial = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'short_selling_high_short_ratio_idx'"
        ).fetchone()
    # RFC-010's four tables lead with time (docs/rfc010_contract.md); the others keep (entity, time).
    assert keys["investor_trends"] == "time,symbol"
    assert keys["short_selling"] == "time,symbol"
    assert keys["program_trading"] == "time,symbol"
    assert keys["sector_rotation"] == "time,sector_code"
    assert keys["daily_prices"] == "symbol,time"
    assert keys["stock_master"] == "symbol,valid_from"
    assert big == ("bigint",)
    assert ratio == (7, 2)
    assert "WHERE (short_ratio > (20)::numeric)" in partial[0]


def test_editing_an_applied_migration_is_reported(empty_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);")
    migrate(empty_database_url, tmp_path)
    (tmp_path / "001_first.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);")

    with pytest.raises(MigrationError, match=r"001_first\.sql changed after it was applied"):
        migrate(empty_database_url, tmp_path)


def test_a_failing_migration_is_rolled_back_and_named(empty_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok (id int PRIMARY KEY);")
    (tmp_path / "002_broken.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")

    with pytest.raises(MigrationError, match=r"002_broken\.sql failed"):
        migrate(empty_database_url, tmp_path)
    with psycopg.connect(empty_database_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert "ok" in tables
    assert "half" not in tables


def test_plain_postgresql_gets_no_hypertables(database_url: str) -> None:
    with connect(database_url) as conn:
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()[0]
        if available:
            pytest.skip("this server has TimescaleDB; the plain branch is covered where it has not")
        assert timescale_plan(conn) == []


def test_timescaledb_in_the_catalog_selects_hypertables(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shadow pg_catalog.pg_available_extensions with a view that lists timescaledb: the plan must switch
    # to hypertables for every time-keyed table and leave the stock master alone.
    monkeypatch.setenv("KIS_INTEL_TIMESCALE_COMPRESS_AFTER_DAYS", "90")
    monkeypatch.setenv("KIS_INTEL_TIMESCALE_RETENTION", "program_trading=30")
    with connect(database_url) as conn:
        conn.execute("CREATE SCHEMA fake_catalog")
        conn.execute("CREATE VIEW fake_catalog.pg_available_extensions AS SELECT 'timescaledb'::name AS name")
        conn.execute("SET search_path = public, fake_catalog, pg_catalog")
        plan = timescale_plan(conn)

    assert plan[0] == "CREATE EXTENSION IF NOT EXISTS timescaledb"
    hypertables = [s for s in plan if "create_hypertable" in s]
    assert any("'investor_trends'" in s for s in hypertables)
    assert any("'short_selling'" in s for s in hypertables)
    assert any("'sector_rotation'" in s for s in hypertables)
    assert not any("'stock_master'" in s for s in hypertables)
    assert any("add_compression_policy('investor_trends', INTERVAL '90 days'" in s for s in plan)
    assert [s for s in plan if "add_retention_policy" in s] == [
        "SELECT add_retention_policy('program_trading', INTERVAL '30 days', if_not_exists => TRUE)"
    ]


def test_unknown_retention_table_is_a_clear_error(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_INTEL_TIMESCALE_RETENTION", "no_such_table=30")
    with connect(database_url) as conn:
        conn.execute("CREATE SCHEMA fake_catalog")
        conn.execute("CREATE VIEW fake_catalog.pg_available_extensions AS SELECT 'timescaledb'::name AS name")
        conn.execute("SET search_path = public, fake_catalog, pg_catalog")
        with pytest.raises(MigrationError, match="KIS_INTEL_TIMESCALE_RETENTION: 'no_such_table=30'"):
            timescale_plan(conn)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/nowhere",
            "cannot connect to database 127.0.0.1:1/nowhere (KIS_INTEL_DATABASE_URL)",
        ),
        ("mysql://root@127.0.0.1/x", "KIS_INTEL_DATABASE_URL must be a postgresql:// URL"),
    ],
)
def test_bad_database_url_is_one_clear_line(url: str, expected: str) -> None:
    process = run_cli(["db", "migrate"], url)
    code = process.wait(timeout=60)
    stderr = process.stderr.read()

    assert code == 2
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("kis-intel: error: ")
    assert expected in stderr
    assert "Traceback" not in stderr
