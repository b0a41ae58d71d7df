"""Rendered pages kept while the data they show is unchanged.

Building a day view (queries, pandas, plotly's JSON) costs tens to hundreds of milliseconds of CPU; the
answer only changes when a table the pages read changes. Every write statement on those tables appends
a row to `pages_data_change` (sql/014_alert_attempts_and_pages_version.sql), so the number of committed
rows is a version: a page is rendered once per (path, query, version) and served from memory after that.
The version is read at most once per `version_ttl` seconds (by one thread; the others keep using the
last one meanwhile), which bounds how long a page can lag a write. Concurrent requests for a page that
is not cached yet wait for one rendering instead of each doing it; `cached` answers a hit without any
I/O, so the app can serve it on the event loop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

import psycopg

from kis_intel_assets.storage import DatabaseTimeouts, connect

DEFAULT_ENTRIES = 512
DEFAULT_VERSION_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


class PageCache:
    def __init__(
        self,
        database_url: str,
        *,
        entries: int = DEFAULT_ENTRIES,
        version_ttl: float = DEFAULT_VERSION_TTL_SECONDS,
    ) -> None:
        self._url = database_url
        self._entries = entries
        self._ttl = version_ttl
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._pages: OrderedDict[Hashable, tuple[int, Rendered]] = OrderedDict()
        self._rendering: dict[Hashable, threading.Lock] = {}
        self._version: tuple[float, int | None] = (-float("inf"), None)
        self.hits = self.misses = 0

    def version(self) -> int | None:
        """The data version; None while the database has no version table (not migrated: never cached)."""
        with self._lock:
            read_at, version = self._version
            known = read_at > -float("inf")
            if time.monotonic() - read_at < self._ttl:
                return version
        # One thread reads; while it does, the others go on with the last version instead of piling up.
        if not self._refreshing.acquire(blocking=not known):
            return version
        try:
            try:
                with connect(
                    self._url, timeouts=replace(DatabaseTimeouts.from_env(), connect_seconds=3)
                ) as conn:
                    row = conn.execute("SELECT count(*) FROM pages_data_change").fetchone()
                version = int(row[0]) if row else None
            except psycopg.errors.UndefinedTable:
                version = None
            with self._lock:
                self._version = (time.monotonic(), version)
            return version
        finally:
            self._refreshing.release()

    def cached(self, key: Hashable) -> Rendered | None:
        """A fresh cached page, without touching the database; None when `get` has work to do."""
        with self._lock:
            read_at, version = self._version
            if version is None or time.monotonic() - read_at >= self._ttl:
                return None
            return self._fresh(key, version)

    def get(self, key: Hashable, render: Callable[[], Rendered | None]) -> Rendered | None:
        """The cached page for `key`, or `render()`'s (cached when it is not None)."""
        version = self.version()
        if version is None:
            return render()
        with self._lock:
            cached = self._fresh(key, version)
            if cached is not None:
                return cached
            rendering = self._rendering.setdefault(key, threading.Lock())
        with rendering:  # one rendering per key: the others wait for it, then hit
            with self._lock:
                cached = self._fresh(key, version)
                if cached is not None:
                    return cached
                self.misses += 1
            try:
                page = render()
                if page is not None:
                    with self._lock:
                        self._pages[key] = (version, page)
                        while len(self._pages) > self._entries:
                            self._pages.popitem(last=False)
            finally:
                with self._lock:
                    self._rendering.pop(key, None)
            return page

    def _fresh(self, key: Hashable, version: int) -> Rendered | None:
        """Call with the lock held."""
        cached = self._pages.get(key)
        if cached is None or cached[0] != version:
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return cached[1]
