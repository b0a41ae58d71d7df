"""Connections and bulk idempotent writes.

Every asset writes through :func:`upsert_frame`, so a re-run of a partition replaces its rows instead of
duplicating them, and a failure part-way through a batch leaves the table exactly as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.numeric import FloatLoader

from kis_intel_assets import settings
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.settings import DATABASE_URL_ENV, STATEMENT_TIMEOUT_ENV, project_home
from kis_intel_assets.storage.tables import KST_DAY_TABLES, registered_table

EMBEDDED_DATABASE = "kis_intel"
# RFC-010's tables key a trading day by `time timestamptz` = 00:00 KST of the day (docs/rfc010_contract.md);
# every connection runs in that zone, and frames carry the day as a Python date (converted here, both ways).
SESSION_TIME_ZONE = "Asia/Seoul"
KST = ZoneInfo(SESSION_TIME_ZONE)
_TIMESTAMPTZ_OID = 1184
# A statement's parameters, as psycopg takes them.
Params = Sequence[Any] | Mapping[str, Any]


class DatabaseUnavailableError(psycopg.OperationalError):
    """The database did not answer in time (down, restarting, frozen, unreachable, a timeout fired): an
    outage, not a setting. The message names the server as host:port/database, never user or password.
    A psycopg OperationalError, so psycopg's own cleanup and callers' reconnect logic treat it as one.
    """


# Every form a database password takes in text: URL userinfo (`//user:pw@`), a `password=` URL query or
# keyword-DSN parameter (quoted or not), and the PGPASSWORD variable as it appears in an env dump.
_PASSWORD_FORMS = (
    re.compile(r"(?P<keep>://[^:/?#@\s]*:)(?P<secret>[^@\s/?#]*)(?=@)"),
    re.compile(
        r"(?P<keep>\b(?:pg)?password\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;,'\"]+)",
        re.IGNORECASE,
    ),
)
PASSWORD_MASK = "***"


def redact_url(text: str) -> str:
    """`text` with every database password in it masked: the one redaction for URLs, DSNs and messages.

    Covers postgresql:// userinfo, `?password=` / `&password=`, keyword DSNs (`password='x y'`),
    `PGPASSWORD=...`, and the value of the PGPASSWORD environment variable wherever it appears.
    """
    for form in _PASSWORD_FORMS:
        text = form.sub(lambda m: m.group("keep") + PASSWORD_MASK, text)
    env_password = settings.database_password()
    if len(env_password) >= 4:  # shorter values would mask ordinary words
        text = text.replace(env_password, PASSWORD_MASK)
    return text


def database_label(url: str) -> str:
    """host:port/database of a URL or keyword DSN, for messages anyone may read (no user, no password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return f"the database named by {DATABASE_URL_ENV}"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = params.get("port")
    name = params.get("dbname") or params.get("user") or "postgres"
    return f"{host}{f':{port}' if port else ''}/{name}"


def resolve_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The server named by KIS_INTEL_DATABASE_URL, or else an embedded PostgreSQL under KIS_INTEL_HOME.

    The embedded server (pgserver, PostgreSQL 16 bundled in a wheel) lets the quick start run on a machine
    that has no database server at all.
    """
    url = settings.database_url(environ)
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


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Bounds on every connection and statement, so a dead, frozen or unreachable server fails loudly.

    The server enforces `statement_seconds` and `idle_in_transaction_seconds`; TCP keepalives and
    `tcp_user_timeout` drop a connection whose peer vanished. A *frozen* server (SIGSTOP) still
    acknowledges TCP, so the client also gives up on any single wait after `client_deadline_seconds`.
    """

    connect_seconds: float = 10.0
    statement_seconds: float = 120.0
    idle_in_transaction_seconds: float = 120.0
    grace_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DatabaseTimeouts:
        configured = settings.database_timeouts(environ)
        return cls(
            connect_seconds=configured.connect_seconds,
            statement_seconds=configured.statement_seconds,
            idle_in_transaction_seconds=configured.statement_seconds,
        )

    @property
    def client_deadline_seconds(self) -> float:
        return self.statement_seconds + self.grace_seconds

    def conninfo(self) -> dict[str, str | int]:
        """libpq keywords: connect timeout, keepalives (dead peer in ~30 s), server-side timeouts, and the
        KST session time zone (so `time = <date>` and `time::date` mean the KRX trading day)."""
        options = (
            f"-c statement_timeout={int(self.statement_seconds * 1000)} "
            f"-c idle_in_transaction_session_timeout={int(self.idle_in_transaction_seconds * 1000)} "
            f"-c TimeZone={SESSION_TIME_ZONE}"
        )
        return {
            "connect_timeout": max(1, math.ceil(self.connect_seconds)),
            "keepalives": 1,
            "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
            "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
            "keepalives_count": KEEPALIVE_COUNT,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            "options": options,
        }


class BoundedConnection(psycopg.Connection):
    """A connection whose every wait for the server ends after the client deadline.

    psycopg waits without limit by default; a frozen server keeps TCP alive, so without this a statement
    in flight when the server froze would wait forever.
    """

    client_deadline_seconds: float | None = None
    _database_label = "the database"

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        deadline = timeout if timeout is not None else self.client_deadline_seconds
        try:
            return super().wait(gen, interval=interval, timeout=deadline)
        except psycopg.errors._WaitTimeout:
            label = self._label()
            self.pgconn.finish()  # state unknown after an abandoned statement: never reuse it
            raise DatabaseUnavailableError(
                f"database {label} did not answer within {deadline:g} s (server frozen or unreachable)"
            ) from None
        except psycopg.errors.QueryCanceled as exc:
            raise DatabaseUnavailableError(
                f"database {self._label()} cancelled a statement: {_first_line(exc)} "
                f"(the limit is {STATEMENT_TIMEOUT_ENV})"
            ) from None
        except DatabaseUnavailableError:
            raise
        except psycopg.OperationalError as exc:
            if self.closed or self.broken:
                raise DatabaseUnavailableError(
                    f"lost the connection to database {self._label()}: {_first_line(exc)}"
                ) from None
            raise

    def _label(self) -> str:
        """host:port/database, read when the connection opened (a closed pgconn no longer tells)."""
        return self._database_label

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> BoundedConnection:
        conn = super().connect(*args, **kwargs)
        info = conn.pgconn
        host = (info.host or b"").decode() or "localhost"
        conn._database_label = f"{host}:{(info.port or b'').decode()}/{(info.db or b'').decode()}"
        return conn


def _first_line(exc: BaseException) -> str:
    text = redact_url(str(exc).strip())
    return text.splitlines()[0] if text else type(exc).__name__


# Server is told a connection is dead after 10 + 5 * 3 s without keepalive answers; unacknowledged sends
# give up after 30 s.
KEEPALIVE_IDLE_SECONDS = 10
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_COUNT = 3
TCP_USER_TIMEOUT_MS = 30_000
# What the server says when the URL names a wrong role, password or database (libpq reports no sqlstate
# for connection failures, only the server's FATAL text).
_WRONG_SETTING = re.compile(
    r"FATAL:.*(does not exist|authentication failed|no pg_hba\.conf entry|not permitted to log in)"
)


def connect(
    url: str,
    *,
    autocommit: bool = False,
    timeouts: DatabaseTimeouts | None = None,
) -> BoundedConnection:
    """Open a connection with the product's timeouts; numeric columns load as floats.

    A refused, timed-out or lost connection is DatabaseUnavailableError (an outage, worth retrying); a
    wrong URL, password or database name is ConfigurationError. Neither message carries the password.
    """
    timeouts = timeouts or DatabaseTimeouts.from_env()
    settings = timeouts.conninfo()
    try:
        given = conninfo_to_dict(url).get("options")
        if given:  # keep the URL's own server options (e.g. search_path) after the timeouts
            settings["options"] = f"{settings['options']} {given}"
        conn = BoundedConnection.connect(url, autocommit=autocommit, **settings)
    except psycopg.OperationalError as exc:
        label = database_label(url)
        if _WRONG_SETTING.search(str(exc)):
            raise ConfigurationError(
                f"{DATABASE_URL_ENV}: database {label} refused the connection: {_first_line(exc)}"
            ) from None
        raise DatabaseUnavailableError(
            f"cannot connect to database {label} ({DATABASE_URL_ENV}): {_first_line(exc)}"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(
            f"{DATABASE_URL_ENV} is not a valid connection URL: {_first_line(exc)}"
        ) from None
    conn.client_deadline_seconds = timeouts.client_deadline_seconds
    conn.adapters.register_loader("numeric", FloatLoader)
    return conn


def execute_reconnecting(
    conn: psycopg.Connection | None,
    url: str,
    query: str,
    params: Params,
    timeouts: DatabaseTimeouts | None = None,
) -> tuple[psycopg.Connection, psycopg.Cursor[Any]]:
    """One idempotent statement on a long-lived autocommit connection (the request limiter, the KRX
    circuit, the fetch cache): returns the connection to keep and the statement's cursor.

    A missing, closed or broken connection is opened from `url`; a lost one is closed and replaced once,
    and a second loss raises, so the caller's own policy decides how long an outage is waited out. The
    caller serializes calls (one statement at a time per connection).
    """
    try:
        return _execute_autocommit(conn, url, query, params, timeouts)
    except psycopg.OperationalError:
        return _execute_autocommit(None, url, query, params, timeouts)


def _execute_autocommit(
    conn: psycopg.Connection | None,
    url: str,
    query: str,
    params: Params,
    timeouts: DatabaseTimeouts | None,
) -> tuple[psycopg.Connection, psycopg.Cursor[Any]]:
    """One try of `execute_reconnecting`; a connection the statement failed on is closed (state unknown)."""
    if conn is None or conn.closed or conn.broken:
        conn = connect(url, autocommit=True, timeouts=timeouts)
    try:
        return conn, conn.execute(query, params)
    except psycopg.OperationalError:
        conn.close()
        raise


def fetch_frame(
    conn: psycopg.Connection,
    query: str | sql.SQL | sql.Composed,
    params: Params | None = None,
) -> pd.DataFrame:
    """Run a query and return its rows as a DataFrame with the query's column names.

    A `time` read straight from one of the KST_DAY_TABLES comes back as the trading day (a date), like
    every other table's `time`; computed columns keep their type (cast them with `::date` in the query).
    """
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description or []]
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
        for position in _day_instant_columns(conn, cur):
            frame.isetitem(position, [kst_day(v) for v in frame.iloc[:, position]])
        return frame


def kst_day(value: datetime | None) -> date | None:
    """The KST trading day of a KST_DAY_TABLES `time` (00:00 Asia/Seoul of that day)."""
    return None if value is None else value.astimezone(KST).date()


def kst_midnight(day: Any) -> datetime:
    """The `time` instant RFC-010's tables store for a trading day (a date, or a naive midnight timestamp as
    pandas and numpy hold days): 00:00 Asia/Seoul."""
    if isinstance(day, datetime) or not isinstance(day, date):
        stamp = pd.Timestamp(day)
        if pd.isna(stamp) or stamp.tzinfo is not None or stamp != stamp.normalize():
            raise TypeError(f"`time` must be a trading day (a date), got {day!r}")
        day = stamp.date()
    return datetime(day.year, day.month, day.day, tzinfo=KST)


def _day_instant_columns(conn: psycopg.Connection, cur: psycopg.Cursor[Any]) -> list[int]:
    """Positions of the result's timestamptz columns taken directly from a KST_DAY_TABLES table."""
    result = cur.pgresult
    if result is None:
        return []
    candidates = {i: result.ftable(i) for i in range(result.nfields) if result.ftype(i) == _TIMESTAMPTZ_OID}
    tables = {oid for oid in candidates.values() if oid}
    if not tables:
        return []
    named = conn.execute(
        "SELECT oid::int8, relname FROM pg_class WHERE oid = ANY(%s::oid[])", (sorted(tables),)
    ).fetchall()
    day_tables = {oid for oid, name in named if name in KST_DAY_TABLES}
    return [i for i, oid in candidates.items() if oid in day_tables]


def upsert_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> int:
    """Write `frame` into `table`: COPY into a temporary table, then one INSERT … ON CONFLICT DO UPDATE
    on the table's registered primary key (storage/tables.py).

    Runs inside one transaction (a savepoint when the caller already has one open), so either every
    row lands or none does. Returns the number of rows written.
    """
    registered = registered_table(table)
    if frame.empty:
        return 0
    key_columns = registered.key
    if registered.kst_day and "time" in frame.columns:
        frame = frame.assign(time=[kst_midnight(day) for day in frame["time"]])
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
    cleaned = frame.astype(object).mask(frame.isna(), None)
    for row in cleaned.itertuples(index=False, name=None):
        yield tuple(_plain(v) for v in row)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalar -> Python scalar
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value
