"""RFC-010's four tables as docs/rfc010_contract.md states them, and migration 017 on a filled database.

The contract test creates the doc's tables in a scratch schema of a migrated database and compares the
catalog: every RFC column with its exact type (and NOT NULL / default / CHECK where the doc states one), the
primary keys and the indexes. The migration test fills a database at schema 016 with the simulator's
ground truth under the old column names, migrates it, finds every row under the new names with `time` at
00:00 KST, and runs the analytics and the pages on it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from kis_intel_assets import analytics
from kis_intel_assets.analytics.rotation import RotationConfig
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.investor_groups import FLOW_SIDES, INVESTOR_GROUPS
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.pages.app import create_app
from kis_intel_assets.simulator import SimulatorConfig
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect, fetch_frame, migrate
from kis_intel_assets.storage.migrations import sql_dir, timescale_plan
from kis_intel_assets_tests.conftest import create_database, drop_database

DOC = Path(__file__).resolve().parents[2] / "docs" / "rfc010_contract.md"
RFC_TABLES = ("investor_trends", "short_selling", "program_trading", "sector_rotation")
SCRATCH = "rfc_text"


def contract_statements() -> list[str]:
    """The statements of the doc's one SQL block, comments removed."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/rfc010_contract.md must hold exactly one ```sql block"
    text = re.sub(r"--[^\n]*", "", blocks[0])
    return [s.strip() for s in text.split(";") if s.strip()]


def shape(conn: psycopg.Connection, schema: str, table: str) -> dict[str, object]:
    """A table as the catalog has it: columns (type, NOT NULL, default), key, CHECKs and indexes."""
    relation = f"{schema}.{table}"
    columns = {
        name: (type_, not_null, default)
        for name, type_, not_null, default in conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid)
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
            (relation,),
        ).fetchall()
    }
    key = conn.execute(
        """SELECT array_agg(a.attname ORDER BY k.ord)
             FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = %s::regclass AND i.indisprimary""",
        (relation,),
    ).fetchone()[0]
    checks = {
        row[0]
        for row in conn.execute(
            """SELECT pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %s::regclass AND contype = 'c'""",
            (relation,),
        ).fetchall()
    }
    indexes = {
        name: definition.replace(f" ON {schema}.", " ON ")
        for name, definition in conn.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid)
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = %s::regclass AND NOT i.indisprimary""",
            (relation,),
        ).fetchall()
    }
    return {"columns": columns, "key": key, "checks": checks, "indexes": indexes}


def test_migrated_tables_hold_the_contract_of_docs_rfc010(database_url: str) -> None:
    statements = contract_statements()
    created = [s for s in statements if s.upper().startswith("CREATE TABLE")]
    assert sorted(re.match(r"CREATE TABLE (\w+)", s).group(1) for s in created) == sorted(RFC_TABLES)
    with connect(database_url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCRATCH)))
        conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(SCRATCH)))
        for statement in statements:
            if statement.upper().startswith(("CREATE TABLE", "CREATE INDEX")):
                conn.execute(statement)
        for table in RFC_TABLES:
            expected, actual = shape(conn, SCRATCH, table), shape(conn, "public", table)
            for name, (type_, not_null, default) in expected["columns"].items():
                assert name in actual["columns"], f"{table}.{name} is missing"
                actual_type, actual_not_null, actual_default = actual["columns"][name]
                assert actual_type == type_, f"{table}.{name}: {actual_type} instead of {type_}"
                if not_null:
                    assert actual_not_null, f"{table}.{name} must be NOT NULL"
                if default is not None:
                    assert actual_default == default, f"{table}.{name}: default {actual_default}"
            assert actual["key"] == expected["key"], table
            assert expected["checks"] <= actual["checks"], table
            missing = {n: d for n, d in expected["indexes"].items() if actual["indexes"].get(n) != d}
            assert not missing, f"{table}: indexes differ from the contract: {missing}"
    # The exact types the RFC names, spelled out once more than the doc's block does.
    assert expected["columns"]["time"][0] == "timestamp with time zone"
    assert shape_types(database_url, "short_selling", ("short_ratio", "balance_ratio")) == {"numeric(5,2)"}
    assert shape_types(database_url, "investor_trends", ("foreign_buy", "retail_net")) == {"bigint"}
    assert shape_types(database_url, "program_trading", ("source",)) == {"text"}


def shape_types(database_url: str, table: str, columns: tuple[str, ...]) -> set[str]:
    with connect(database_url) as conn:
        rows = conn.execute(
            """SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = %s AND column_name = ANY(%s)""",
            (table, list(columns)),
        ).fetchall()
    assert len(rows) == len(columns)
    return {
        f"numeric({precision},{scale})" if kind == "numeric" else kind for _, kind, precision, scale in rows
    } - {"timestamp with time zone"}


def test_timescaledb_branch_makes_the_contract_tables_hypertables_on_time(database_url: str) -> None:
    """Where the catalog offers TimescaleDB, the runner turns every table of the doc into a hypertable on
    `time`; migration 017 changes `time` only on the freshly created copy of each table (a hypertable's
    partitioning column cannot be altered), so the same SQL serves both branches."""
    wanted = {
        match.group(1)
        for statement in contract_statements()
        if (match := re.match(r"SELECT create_hypertable\('(\w+)', 'time'\)", statement))
    }
    assert wanted == set(RFC_TABLES)
    with connect(database_url) as conn:
        conn.execute("CREATE SCHEMA fake_catalog")
        conn.execute("CREATE VIEW fake_catalog.pg_available_extensions AS SELECT 'timescaledb'::name AS name")
        conn.execute("SET search_path = public, fake_catalog, pg_catalog")
        plan = timescale_plan(conn)
    for table in RFC_TABLES:
        assert (
            f"SELECT create_hypertable('{table}', 'time', if_not_exists => TRUE, migrate_data => TRUE)"
            in plan
        ), table
    text = re.sub(r"--[^\n]*", "", (sql_dir() / "017_rfc010_contract.sql").read_text(encoding="utf-8"))
    for table in RFC_TABLES:
        created = text.index(f"CREATE TABLE {table} (LIKE {table}_016")
        retyped = text.index(f"ALTER TABLE {table} ALTER COLUMN time TYPE timestamptz")
        assert created < retyped, table
        assert len(re.findall(rf"ALTER TABLE {table} ALTER COLUMN time\b", text)) == 1, table


# --- Migration 017 on a database filled at schema 016 --------------------------------------------------

FIRST, LAST = date(2024, 7, 1), date(2025, 1, 31)
RERUN_DAYS = trading_days(date(2025, 1, 27), LAST)
SIMULATED = SimulatorConfig(seed=11, n_symbols=24, start=date(2024, 6, 3), end=LAST)


def names_at_016(table: str) -> dict[str, str]:
    """Today's column name -> the name schema 016 gave it (the migration's rename list, reversed)."""
    if table == "investor_trends":
        names = {}
        for group in INVESTOR_GROUPS:
            old = "individual" if group == "retail" else group
            for side in FLOW_SIDES:
                names[f"{group}_{side}"] = f"{old}_{side}_qty"
                names[f"{group}_{side}_value"] = f"{old}_{side}_value"
        return names
    if table == "short_selling":
        return {
            "short_amount": "short_value",
            "short_ratio": "short_volume_ratio",
            "balance_volume": "short_balance_qty",
            "balance_amount": "short_balance_value",
        }
    if table == "program_trading":
        return {f"program_{side}": f"program_{side}_qty" for side in FLOW_SIDES}
    return {}


def insert_rows(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame into a table as it is (here: the 016 shape), missing values as NULL."""
    frame = frame.rename(columns=names_at_016(table))
    columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
    with conn.cursor().copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
    ) as copy:
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
            copy.write_row([v.item() if hasattr(v, "item") else v for v in row])


@pytest.fixture(scope="module")
def simulated() -> Simulator:
    return Simulator(SIMULATED)


@pytest.fixture(scope="module")
def filled_at_016(postgres_server_url: str, simulated: Simulator) -> Iterator[tuple[str, dict]]:
    """A database migrated only up to 016, holding ~145 trading days of 24 stocks under the old names
    (prices, flows, short selling, programme trading, the sector flows and signals computed from them)."""
    name = f"kis_test_rfc_{uuid.uuid4().hex[:8]}"
    url = create_database(postgres_server_url, name)
    assert migrate(url, target="016").applied[-1] == "016_row_source.sql"
    truth = simulated.truth
    master = truth.stock_master().assign(last_seen=LAST)
    frames = {
        "stock_master": master,
        "daily_prices": truth.daily_prices(FIRST, LAST),
        "investor_trends": truth.investor_trends(FIRST, LAST),
        "short_selling": truth.short_selling(FIRST, LAST),
        "program_trading": truth.program_trading(FIRST, LAST),
    }
    flow = analytics.sector_money_flow(master, frames["daily_prices"], frames["investor_trends"])
    signals = analytics.rotation_signals(flow, RotationConfig())
    frames["sector_rotation"] = flow.assign(time=pd.to_datetime(flow["time"]).dt.date)
    frames["rotation_signal"] = signals.assign(time=pd.to_datetime(signals["time"]).dt.date)
    with psycopg.connect(url) as conn:  # a plain session (server time zone), as an older release had
        for table, frame in frames.items():
            insert_rows(conn, table, frame)
    yield url, frames
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="module")
def migrated(filled_at_016: tuple[str, dict]) -> tuple[str, dict]:
    """Migrated in a session whose time zone is not Seoul's: the conversion must not depend on it (the
    URL's options come after the product's own, so they win)."""
    url, frames = filled_at_016
    joiner = "&" if "?" in url else "?"  # the embedded server's URL already has a query (host=…)
    applied = migrate(f"{url}{joiner}options=-c%20TimeZone%3DAmerica/New_York").applied
    assert applied[0] == "017_rfc010_contract.sql"  # then the later branches' migrations (019 krx, …)
    return url, frames


def test_every_row_is_there_under_the_new_names(migrated: tuple[str, dict]) -> None:
    url, frames = migrated
    with connect(url) as conn:
        for table, frame in frames.items():
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                0
            ]
            assert count == len(frame) > 0, table
        for table in ("investor_trends", "short_selling", "program_trading"):
            expected = frames[table].sort_values(["symbol", "time"]).reset_index(drop=True)
            query = sql.SQL("SELECT {} FROM {} ORDER BY symbol, time").format(
                sql.SQL(", ").join(map(sql.Identifier, expected.columns)), sql.Identifier(table)
            )
            stored = fetch_frame(conn, query)
            assert isinstance(stored["time"].iloc[0], date) and not isinstance(
                stored["time"].iloc[0], datetime
            )
            pd.testing.assert_frame_equal(stored, expected, check_dtype=False, obj=table)
        spot = frames["investor_trends"].iloc[100]
        retail_buy, foreign_net_value, source = conn.execute(
            """SELECT retail_buy, foreign_net_value, source FROM investor_trends
                WHERE symbol = %s AND time = %s""",
            (spot["symbol"], spot["time"]),
        ).fetchone()
        assert (retail_buy, foreign_net_value, source) == (
            spot["retail_buy"],
            spot["foreign_net_value"],
            "KIS",
        )
        flows = fetch_frame(conn, "SELECT time, sector_code, rotation_signal FROM sector_rotation")
    signals = frames["rotation_signal"][["time", "sector_code", "signal"]]
    joined = flows.merge(signals, on=["time", "sector_code"], how="left")
    assert joined["signal"].notna().sum() == len(signals) > 0
    assert (joined["rotation_signal"].fillna("-") == joined["signal"].fillna("-")).all()


def test_time_is_midnight_in_seoul_whatever_the_session_zone(migrated: tuple[str, dict]) -> None:
    url, frames = migrated
    first = min(frames["investor_trends"]["time"])
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for table in RFC_TABLES:
            earliest, off_midnight = conn.execute(
                sql.SQL(
                    """SELECT min(time),
                              count(*) FILTER (WHERE (time AT TIME ZONE 'Asia/Seoul')::time <> '00:00')
                         FROM {}"""
                ).format(sql.Identifier(table))
            ).fetchone()
            assert off_midnight == 0, table
            if table != "sector_rotation":  # 00:00 KST of the first day is 15:00 UTC the day before
                midnight_utc = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=9)
                assert earliest == midnight_utc, table


def test_analytics_and_pages_run_on_the_migrated_database(migrated: tuple[str, dict]) -> None:
    url, frames = migrated
    before = frames["rotation_signal"]
    before = (
        before[before["time"].isin(RERUN_DAYS)].sort_values(["sector_code", "time"]).reset_index(drop=True)
    )
    resources = {"database": DatabaseResource(url=url)}
    assert materialize_selection(["sector_money_flow", "rotation_signal"], resources, days=RERUN_DAYS).success
    with connect(url) as conn:
        after = fetch_frame(
            conn,
            "SELECT * FROM rotation_signal WHERE time = ANY(%s) ORDER BY sector_code, time",
            (RERUN_DAYS,),
        )
        recorded = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE f.rotation_signal = s.signal)
                 FROM sector_rotation f
                 JOIN rotation_signal s ON s.sector_code = f.sector_code AND f.time = s.time
                WHERE s.time = ANY(%s)""",
            (RERUN_DAYS,),
        ).fetchone()
    assert len(after) == len(before) > 0
    assert after["signal"].tolist() == before["signal"].tolist()
    assert recorded[0] == recorded[1] == len(after)

    day = RERUN_DAYS[-1].isoformat()
    symbol = frames["short_selling"]["symbol"].iloc[0]
    with TestClient(create_app(url, cache=False)) as client:
        for path in ("/sectors", "/overheat", "/rotation", f"/overheat/stock/{symbol}"):
            for investor in ("foreign", "individual") if path == "/sectors" else (None,):
                params = {"date": day, **({"investor": investor} if investor else {})}
                answer = client.get(path, params=params)
                assert answer.status_code == 200, (path, answer.text[:300])
                assert day in answer.text, path
        shown = set(re.findall(r'<tr data-sector="(\w+)"', client.get("/sectors", params={"date": day}).text))
    flows = frames["sector_rotation"]
    assert shown and shown <= set(flows.loc[flows["time"] == RERUN_DAYS[-1], "sector_code"])
