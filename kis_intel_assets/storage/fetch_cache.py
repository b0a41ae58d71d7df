"""What an unfinished ingest run already fetched, kept so that its re-run asks KIS only for the rest.

A one-year backfill of the whole universe costs tens of minutes of KIS budget per dataset. When one
symbol still fails after the client's retries, the partition is failed and nothing is written (the
partition stays all-or-nothing), but the parsed rows of every symbol that did arrive are kept here,
keyed by dataset, date window and symbol. The re-run of the same window loads them and fetches only the
missing symbols; the transaction that finally writes the partition deletes the window's entries, so a
later run of the same days asks KIS again instead of reusing old answers.

Entries older than `MAX_AGE` are ignored and removed: a re-run normally follows within minutes or hours,
and an old failed run's answers should not outlive that.

The cache's one connection lives as long as the step's fetches; a connection lost meanwhile (a database
restart, a terminated backend) is replaced once per statement. Keeping an answer is worth a retry but not
the run: when even the new connection fails, `store` logs it and the run goes on with the answer in memory
(only a re-run after a crash would ask KIS for that symbol again).
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Iterable
from datetime import date, timedelta
from types import TracebackType

import pandas as pd
import psycopg

from kis_intel_assets.storage.database import connect, execute_reconnecting, redact_url

log = logging.getLogger(__name__)
MAX_AGE = timedelta(hours=12)
_WINDOW = "dataset = %s AND window_start = %s AND window_end = %s"
_CLEAR_WINDOW = f"DELETE FROM kis_fetch_cache WHERE {_WINDOW}"
_KEEP = (
    "INSERT INTO kis_fetch_cache (dataset, window_start, window_end, symbol, row_count, frame) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (dataset, window_start, window_end, symbol) "
    "DO UPDATE SET row_count = EXCLUDED.row_count, frame = EXCLUDED.frame, fetched_at = now()"
)


class FetchCache:
    """The kept fetches of one dataset and window; `store` is safe from the fetch thread pool.

    The frames are pickled: the table lives in the project's own database (beside the encrypted token
    store) and only this class writes it, and a pickle gives back exactly the frame the client parsed.
    """

    def __init__(self, url: str, dataset: str, start: date, end: date, max_age: timedelta = MAX_AGE) -> None:
        self.url = url
        self.key = (dataset, start, end)
        self.max_age = max_age
        self.reused = 0
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> FetchCache:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _execute(self, query: str, params: tuple[object, ...]) -> psycopg.Cursor:
        """One autocommit statement (every one is idempotent); a lost connection is replaced once."""
        self._conn, cursor = execute_reconnecting(self._conn, self.url, query, params)
        return cursor

    def load(self, symbols: Iterable[str]) -> dict[str, pd.DataFrame]:
        """The kept frames of these symbols (expired entries are deleted first)."""
        wanted = sorted(set(symbols))
        with self._lock:
            # Expired entries of every window go, so windows that are never re-run do not pile up.
            self._execute("DELETE FROM kis_fetch_cache WHERE fetched_at < now() - %s", (self.max_age,))
            rows = self._execute(
                f"SELECT symbol, frame FROM kis_fetch_cache WHERE {_WINDOW} AND symbol = ANY(%s)",
                (*self.key, wanted),
            ).fetchall()
        frames = {symbol: pickle.loads(frame) for symbol, frame in rows}
        self.reused = len(frames)
        return frames

    def store(self, symbol: str, frame: pd.DataFrame) -> None:
        """Keep one symbol's parsed answer at once, so even a killed run keeps what it paid for."""
        payload = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            try:
                self._execute(_KEEP, (*self.key, symbol, len(frame), payload))
            except psycopg.OperationalError as exc:
                log.warning(
                    "fetch cache: could not keep %s's %s answer for a re-run (this run still has it): %s",
                    symbol,
                    self.key[0],
                    redact_url(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__,
                )

    def clear(self, conn: psycopg.Connection) -> None:
        """Delete the window's entries on the caller's connection: inside the transaction that writes it."""
        conn.execute(_CLEAR_WINDOW, self.key)

    def discard(self) -> None:
        """Forget the window's entries now (the data was rejected, so a re-run must fetch it again)."""
        with self._lock:
            self._execute(_CLEAR_WINDOW, self.key)


def kept_symbols(url: str, dataset: str, start: date, end: date) -> list[str]:
    """The symbols whose answers are kept for this dataset and window (for reports and tests)."""
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT symbol FROM kis_fetch_cache WHERE {_WINDOW} ORDER BY symbol", (dataset, start, end)
        ).fetchall()
    return [symbol for (symbol,) in rows]
