"""Dagster resources: the market-data database and the KIS client.

Secrets come from environment variables through `dg.EnvVar`, so the Dagster UI shows the variable's name
and never its value.
"""


from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import dagster as dg
import psycopg
from pydantic import Field as ConfigField

from kis_intel_assets.kis import KISClient
from kis_intel_assets.kis.config import MASTER_BASE_URL, KISConfig
from kis_intel_assets.storage import connect, migrate, resolve_database_url


class DatabaseResource(dg.ConfigurableResource):
    """PostgreSQL holding the market data (not Dagster's own storage).

    An empty `url` means KIS_INTEL_DATABASE_URL, or the embedded server when that is unset too.
    """

    url: str = ConfigField(
        default="", description="postgresql:// URL; empty = KIS_INTEL_DATABASE_URL or embedded"
    )

    @cached_property
    def resolved_url(self) -> str:
        url = self.url or resolve_database_url()
        migrate(url)  # cheap when up to date; keeps `dagster dev` on a fresh database working
        return url

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection whose work commits when the block ends without error and rolls back otherwise."""
        with connect(self.resolved_url) as conn:
            yield conn


class KISResource(dg.ConfigurableResource):
    """The KIS Open API (or the local simulator, which speaks the same protocol).

    The access token and the request budget are shared through `database` by every process and run that
    uses the same app key, so concurrent runs neither re-issue tokens nor exceed the per-key rate limit.
    """

    app_key: str
    app_secret: str
    database: DatabaseResource
    base_url: str = ConfigField(default="", description="empty = the real KIS domain for `paper`")
    master_base_url: str = MASTER_BASE_URL
    paper: bool = False
    rate_limit_per_sec: float | None = ConfigField(
        default=None, description="per-key budget; default 20/s real, 2/s paper"
    )
    fetch_workers: int = ConfigField(default=8, ge=1, le=64, description="concurrent requests per run")

    @contextmanager
    def client(self) -> Iterator[KISClient]:
        config = KISConfig(
            app_key=self.app_key,
            app_secret=self.app_secret,
            database_url=self.database.resolved_url,
            paper=self.paper,
            base_url=self.base_url,
            master_base_url=self.master_base_url,
            rate_limit_per_sec=self.rate_limit_per_sec,
        )
        with KISClient(config) as client:
            yield client
