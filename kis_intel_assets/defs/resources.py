"""Dagster resources: the market-data database and the KIS client.

Secrets come from environment variables through `dg.EnvVar`, so the Dagster UI shows the variable's name
and never its value.
"""

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import cached_property
from typing import Any

import dagster as dg
import psycopg
from pydantic import Field as ConfigField

from kis_intel_assets import settings
from kis_intel_assets.defs.failures import setting_at_load
from kis_intel_assets.defs.krx.resources import KRXResource
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.kis import KISClient
from kis_intel_assets.kis.config import MASTER_BASE_URL, KISConfig
from kis_intel_assets.kis.ratelimit import MAX_BUDGET_PER_SEC
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kiwoom import KiwoomClient, KiwoomConfig
from kis_intel_assets.kiwoom.config import DEFAULT_RATE_LIMIT_PER_SEC as KIWOOM_RATE_LIMIT_PER_SEC
from kis_intel_assets.kiwoom.config import PER_TR as KIWOOM_PER_TR
from kis_intel_assets.kiwoom.config import RATE_LIMIT_SCOPES as KIWOOM_RATE_LIMIT_SCOPES
from kis_intel_assets.kiwoom.config import REAL_BASE_URL as KIWOOM_BASE_URL
from kis_intel_assets.kiwoom.routing import StoredTradingValues, routed
from kis_intel_assets.settings import DATABASE_URL_ENV, RATE_LIMIT_ENV
from kis_intel_assets.storage import connect, migrate, resolve_database_url

MIN_BUDGET_PER_SEC = 0.1


class DatabaseResource(dg.ConfigurableResource):
    """PostgreSQL holding the market data (not Dagster's own storage).

    The URL may carry a password, so the definitions pass it as `dg.EnvVar`: the Dagster UI and the
    repository snapshot show the variable's name, and only the run resolves it (`database_resource_from_env`).
    An empty `url` means KIS_INTEL_DATABASE_URL, or the embedded server when that is unset too.
    """

    url: str = ConfigField(
        default="", repr=False, description="secret (EnvVar); postgresql:// URL, empty = embedded"
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
    Extra app keys (each with its own token and budget) put `client()` over a KISSessionPool that spreads
    the calls over all keys, so a run gets about (1 + extra keys) × the single-key throughput.
    """

    app_key: str
    app_secret: str
    database: DatabaseResource
    base_url: str = ConfigField(default="", description="empty = the real KIS domain for `paper`")
    master_base_url: str = MASTER_BASE_URL
    paper: bool = False
    market_division: str = ConfigField(
        default="J", description="FID_COND_MRKT_DIV_CODE: J = KRX (the product scope), NX = NXT, UN = both"
    )
    rate_limit_per_sec: float | None = ConfigField(
        default=None,
        gt=0,
        le=MAX_BUDGET_PER_SEC,
        description="per-key budget, at most 100/s; default 20/s real, 2/s paper",
    )
    fetch_workers: int = ConfigField(
        default=8, ge=1, le=64, description="concurrent requests per run; about 2 per app key keeps all busy"
    )
    read_timeout_seconds: float = ConfigField(
        default=15.0,
        gt=0,
        le=300,
        description="seconds (at most 300) to wait for a KIS reply before retrying",
    )
    extra_app_keys: str = ConfigField(
        default="", description="more app keys, comma-separated (env KIS_EXTRA_APP_KEYS)"
    )
    extra_app_secrets: str = ConfigField(
        default="", description="their app secrets in the same order (env KIS_EXTRA_APP_SECRETS)"
    )
    source: str = ConfigField(
        default="kis",
        description="kis (default), kiwoom or both: source of the datasets Kiwoom serves (KIS_INTEL_SOURCE)",
    )
    kiwoom_app_key: str = ConfigField(default="", description="Kiwoom app key (env KIWOOM_APP_KEY)")
    kiwoom_app_secret: str = ConfigField(default="", description="Kiwoom secret key (env KIWOOM_APP_SECRET)")
    kiwoom_base_url: str = KIWOOM_BASE_URL
    kiwoom_rate_limit_per_sec: float = ConfigField(
        default=KIWOOM_RATE_LIMIT_PER_SEC,
        gt=0,
        le=MAX_BUDGET_PER_SEC,
        description="Kiwoom budget per TR of the key, at most 100/s (Kiwoom counts each TR apart: 5/s)",
    )
    kiwoom_rate_limit_scope: str = ConfigField(
        default=KIWOOM_PER_TR,
        description="per_tr (Kiwoom counts each TR apart) or per_key (one budget for the key)",
    )
    kiwoom_total_rate_limit_per_sec: float | None = ConfigField(
        default=None,
        gt=0,
        le=MAX_BUDGET_PER_SEC,
        description="optional Kiwoom cap for all TRs of the key together (its total limit has no figure)",
    )
    # The optional KRX portal (the definitions pass the `krx` resource): investor_trends' fast path and
    # whether short_selling says that balance comes from lending data only. None = KRX off.
    krx: KRXResource | None = None

    def _configs(self) -> list[KISConfig]:
        keys = [self.app_key, *_comma_list(self.extra_app_keys, "extra_app_keys")]
        secrets = [self.app_secret, *_comma_list(self.extra_app_secrets, "extra_app_secrets")]
        if len(keys) != len(secrets):
            raise ValueError(
                f"{len(keys) - 1} extra app key(s) but {len(secrets) - 1} extra app secret(s); "
                "list one secret per key, in the same order"
            )
        return [
            KISConfig(
                app_key=Secret(key),
                app_secret=Secret(secret),
                database_url=Secret(self.database.resolved_url),
                paper=self.paper,
                market_division=self.market_division,
                base_url=self.base_url,
                master_base_url=self.master_base_url,
                rate_limit_per_sec=self.rate_limit_per_sec,
                read_timeout_seconds=self.read_timeout_seconds,
            )
            for key, secret in zip(keys, secrets, strict=True)
        ]

    def kiwoom_config(self) -> KiwoomConfig:
        return KiwoomConfig(
            app_key=Secret(self.kiwoom_app_key),
            app_secret=Secret(self.kiwoom_app_secret),
            database_url=Secret(self.database.resolved_url),
            base_url=self.kiwoom_base_url,
            rate_limit_per_sec=self.kiwoom_rate_limit_per_sec,
            rate_limit_scope=self.kiwoom_rate_limit_scope,
            total_rate_limit_per_sec=self.kiwoom_total_rate_limit_per_sec,
            read_timeout_seconds=self.read_timeout_seconds,
        )

    def _kiwoom_client(self) -> KiwoomClient:
        return KiwoomClient(self.kiwoom_config())

    @contextmanager
    def client(self) -> Iterator[KISClient]:
        """KIS (one key or a pool); with `source` kiwoom/both, wrapped in the two-broker router."""
        configs = self._configs()
        with ExitStack() as stack:
            kis = stack.enter_context(KISClient.connect(*configs))
            client = routed(
                kis,
                self._kiwoom_client if self.kiwoom_app_key else None,
                self.source,
                StoredTradingValues(self.database.resolved_url),
                kis_rate_per_sec=sum(config.effective_rate_per_sec for config in configs),
                # what one TR's calls may use (all of them, under a key-wide cap)
                kiwoom_rate_per_sec=min(
                    self.kiwoom_rate_limit_per_sec,
                    self.kiwoom_total_rate_limit_per_sec or self.kiwoom_rate_limit_per_sec,
                ),
            )
            if client is not kis:
                stack.callback(client.close)
            yield client


def _comma_list(text: str, name: str) -> list[str]:
    """Comma-separated credentials; a blank entry is an error (the values themselves are never shown)."""
    if not text.strip():
        return []
    items = [item.strip() for item in text.split(",")]
    blanks = [str(position) for position, item in enumerate(items, 1) if not item]
    if blanks:
        raise ValueError(f"{name}: entry {', '.join(blanks)} of {len(items)} is blank")
    return items


def env_var_if_set(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """`dg.EnvVar(name)` when the variable is set, else "": an unset EnvVar would fail every launch, and
    the optional secrets (extra keys, Kiwoom, alert channels) may well be unset."""
    return dg.EnvVar(name) if settings.is_set(name, environ=environ) else ""


def database_resource_from_env(environ: Mapping[str, str] | None = None) -> DatabaseResource:
    """KIS_INTEL_DATABASE_URL as an EnvVar when set, else the embedded server."""
    return DatabaseResource(url=env_var_if_set(DATABASE_URL_ENV, environ))


def budget_from_env(name: str, environ: Mapping[str, str] | None = None) -> float | None:
    """A requests/s variable (0.1-100), None when unset; a bad value is one line naming it."""
    if not settings.is_set(name, environ=environ):
        return None
    return settings.env_number(name, 0.0, MIN_BUDGET_PER_SEC, MAX_BUDGET_PER_SEC, environ=environ)


def rate_limit_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """KIS_RATE_LIMIT_PER_SEC, None when unset."""
    return budget_from_env(RATE_LIMIT_ENV, environ)


def kiwoom_budget_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """KIWOOM_RATE_LIMIT_PER_SEC, KIWOOM_RATE_LIMIT_SCOPE and KIWOOM_TOTAL_RATE_LIMIT_PER_SEC as KISResource
    fields (the unset ones left to the defaults); a bad value is one line naming it."""
    budgets = {
        "kiwoom_rate_limit_per_sec": budget_from_env(settings.KIWOOM_RATE_LIMIT_ENV, environ),
        "kiwoom_total_rate_limit_per_sec": budget_from_env(settings.KIWOOM_TOTAL_RATE_LIMIT_ENV, environ),
    }
    budget: dict[str, Any] = {field: value for field, value in budgets.items() if value is not None}
    scope = settings.text(settings.KIWOOM_RATE_LIMIT_SCOPE_ENV, environ=environ)
    if scope and scope not in KIWOOM_RATE_LIMIT_SCOPES:
        raise ConfigurationError(
            f"{settings.KIWOOM_RATE_LIMIT_SCOPE_ENV} must be one of {', '.join(KIWOOM_RATE_LIMIT_SCOPES)}, "
            f"got {scope!r}"
        )
    if scope:
        budget["kiwoom_rate_limit_scope"] = scope
    return budget


def kis_resource_from_env(database: DatabaseResource, krx: KRXResource | None = None) -> KISResource:
    """The KIS client as the environment configures it: secrets as EnvVars (resolved at launch, shown by
    name only), plain settings read now; a bad rate limit stops the definitions' load with one line."""
    source = settings.kis_source()
    return KISResource(
        app_key=dg.EnvVar(settings.APP_KEY_ENV),
        app_secret=dg.EnvVar(settings.APP_SECRET_ENV),
        # More keys, each with its own token and budget.
        extra_app_keys=env_var_if_set(settings.EXTRA_APP_KEYS_ENV),
        extra_app_secrets=env_var_if_set(settings.EXTRA_APP_SECRETS_ENV),
        database=database,
        base_url=source.base_url,
        master_base_url=source.master_base_url or MASTER_BASE_URL,
        paper=source.paper,
        market_division=source.market_division,
        rate_limit_per_sec=setting_at_load(rate_limit_from_env),
        # The optional second broker (kis_intel_assets/kiwoom, README "Kiwoom (optional second source)").
        source=source.source,
        kiwoom_app_key=env_var_if_set(settings.KIWOOM_APP_KEY_ENV),
        kiwoom_app_secret=env_var_if_set(settings.KIWOOM_APP_SECRET_ENV),
        kiwoom_base_url=source.kiwoom_base_url or KIWOOM_BASE_URL,
        **setting_at_load(kiwoom_budget_from_env),
        krx=krx,
    )


def resources_against(
    base_url: str, database_url: str, app_key: str, app_secret: str, **kis_settings: Any
) -> dict[str, Any]:
    """The `database` and `kis` resources of a run against a KIS-compatible server at `base_url` (the
    simulator, or a gateway in front of it) with its master files under /common/master: the demo, the
    benchmarks and the tests build such runs here, so a new resource setting is added once."""
    database = DatabaseResource(url=database_url)
    kis_settings.setdefault("master_base_url", f"{base_url}/common/master")
    kis = KISResource(
        app_key=app_key, app_secret=app_secret, database=database, base_url=base_url, **kis_settings
    )
    return {"database": database, "kis": kis}
