"""The long-lived autocommit statement the limiter, the KRX circuit and the fetch cache share: a lost
connection is replaced once, a database that stays away raises."""

from __future__ import annotations

import psycopg
import pytest

from kis_intel_assets.storage import DatabaseTimeouts, connect, execute_reconnecting

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/postgres"  # the discard port: nothing listens
QUICK = DatabaseTimeouts(connect_seconds=1, statement_seconds=5, grace_seconds=1)


def test_opens_a_connection_keeps_it_and_returns_the_cursor(database_url: str) -> None:
    conn, cursor = execute_reconnecting(None, database_url, "SELECT %(n)s::int + 1", {"n": 41})
    assert cursor.fetchone() == (42,)
    kept, cursor = execute_reconnecting(conn, database_url, "SET application_name = 'kept'", ())
    assert kept is conn and cursor.description is None
    conn.close()


def test_a_lost_connection_is_replaced_once(database_url: str) -> None:
    conn, _ = execute_reconnecting(None, database_url, "SELECT 1", {})
    with connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    replaced, cursor = execute_reconnecting(conn, database_url, "SELECT 2", {})
    assert conn.closed and replaced is not conn and cursor.fetchone() == (2,)
    replaced.close()


def test_a_database_that_stays_away_raises() -> None:
    with pytest.raises(psycopg.OperationalError):
        execute_reconnecting(None, UNREACHABLE, "SELECT 1", {}, timeouts=QUICK)
