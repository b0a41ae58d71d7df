"""The one module that reads the process environment: every variable kis-intel knows, its default, and
the typed value each part of the product takes from it.

One home, so that changing a default or adding a variable means reading one file; a test
(`kis_intel_assets_tests/test_settings_module.py`) keeps every other module, the `kis-intel` CLI apart,
from reading `os.environ` on its own. Each accessor takes an optional `environ` mapping (tests pass a
dict; None means the process environment) and reads when called, never at import, so a process that sets
a variable before asking (the demo, `dev`, tests) is seen. A blank value counts as unset. A bad value is a
`ConfigurationError` that names the variable and never echoes a secret.

Dagster resources keep receiving secrets as `dg.EnvVar(name)` (resolved at launch, shown by name in the
UI): for those the definitions only ask `is_set` here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import platformdirs

from kis_intel_assets.errors import ConfigurationError

Environ = Mapping[str, str]

# Database (storage/database.py).
DATABASE_URL_ENV = "KIS_INTEL_DATABASE_URL"
CONNECT_TIMEOUT_ENV = "KIS_INTEL_DB_CONNECT_TIMEOUT_SECONDS"
STATEMENT_TIMEOUT_ENV = "KIS_INTEL_DB_STATEMENT_TIMEOUT_SECONDS"
PASSWORD_ENV = "PGPASSWORD"
# Local state and files.
HOME_ENV = "KIS_INTEL_HOME"
DEFAULT_HOME = ".kis-intel"
CACHE_DIR_ENV = "KIS_INTEL_CACHE_DIR"
SQL_DIR_ENV = "KIS_INTEL_SQL_DIR"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
# TimescaleDB policies (storage/migrations.py parses them).
COMPRESS_AFTER_ENV = "KIS_INTEL_TIMESCALE_COMPRESS_AFTER_DAYS"
RETENTION_ENV = "KIS_INTEL_TIMESCALE_RETENTION"
# Partitions.
PARTITION_START_ENV = "KIS_INTEL_PARTITION_START"
DEFAULT_PARTITION_START = "2023-01-02"
# The KIS source (and the optional Kiwoom one); read by the Dagster definitions, `kis-intel discover` and
# the gateway alike, so all three call the same server.
APP_KEY_ENV = "KIS_APP_KEY"
APP_SECRET_ENV = "KIS_APP_SECRET"
EXTRA_APP_KEYS_ENV = "KIS_EXTRA_APP_KEYS"
EXTRA_APP_SECRETS_ENV = "KIS_EXTRA_APP_SECRETS"
BASE_URL_ENV = "KIS_BASE_URL"
MASTER_BASE_URL_ENV = "KIS_MASTER_BASE_URL"
PAPER_ENV = "KIS_PAPER"
MARKET_DIVISION_ENV = "KIS_MARKET_DIVISION"
RATE_LIMIT_ENV = "KIS_RATE_LIMIT_PER_SEC"
SOURCE_ENV = "KIS_INTEL_SOURCE"
KIWOOM_APP_KEY_ENV = "KIWOOM_APP_KEY"
KIWOOM_APP_SECRET_ENV = "KIWOOM_APP_SECRET"
KIWOOM_BASE_URL_ENV = "KIWOOM_BASE_URL"
# Kiwoom's request budget: per TR by default (kiwoom/config.py); per_key for one bucket per app key; an
# optional key-wide cap on top (Kiwoom's total limit, figure unknown).
KIWOOM_RATE_LIMIT_ENV = "KIWOOM_RATE_LIMIT_PER_SEC"
KIWOOM_RATE_LIMIT_SCOPE_ENV = "KIWOOM_RATE_LIMIT_SCOPE"
KIWOOM_TOTAL_RATE_LIMIT_ENV = "KIWOOM_TOTAL_RATE_LIMIT_PER_SEC"
GATEWAY_CLIENTS_ENV = "KIS_GATEWAY_CLIENTS"
# KRX data-portal login (the variables pykrx reads): the optional second source, off unless both are set.
KRX_ID_ENV = "KRX_ID"
KRX_PW_ENV = "KRX_PW"
KRX_BASE_URL_ENV = "KRX_BASE_URL"
# Where investor_trends comes from: kis (default) or krx (the KRX fast path; needs the KRX login).
FLOWS_SOURCE_ENV = "KIS_INTEL_FLOWS_SOURCE"
# Alert channels and the pages they link to.
SLACK_WEBHOOK_ENV = "KIS_INTEL_SLACK_WEBHOOK_URL"
SLACK_BOT_TOKEN_ENV = "KIS_INTEL_SLACK_BOT_TOKEN"
SLACK_CHANNEL_ENV = "KIS_INTEL_SLACK_CHANNEL"
SLACK_API_URL_ENV = "KIS_INTEL_SLACK_API_URL"
DISCORD_WEBHOOK_ENV = "KIS_INTEL_DISCORD_WEBHOOK_URL"
DAGSTER_URL_ENV = "DAGSTER_WEBSERVER_URL"
PAGES_URL_ENV = "KIS_INTEL_PAGES_URL"
DEFAULT_SLACK_API_URL = "https://slack.com/api"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
DEFAULT_PAGES_URL = "http://127.0.0.1:8050"


def _environ(environ: Environ | None) -> Environ:
    return os.environ if environ is None else environ


def text(name: str, default: str = "", *, environ: Environ | None = None) -> str:
    """The variable's value without surrounding blanks; `default` when it is unset or blank."""
    return _environ(environ).get(name, "").strip() or default


def is_set(name: str, *, environ: Environ | None = None) -> bool:
    """Whether the variable has a non-blank value (the definitions pass an EnvVar only then: an unset
    EnvVar would fail every launch)."""
    return bool(text(name, environ=environ))


def flag(name: str, *, environ: Environ | None = None) -> bool:
    """A yes/no variable: 1, true or yes (any case) mean yes."""
    return text(name, environ=environ).lower() in {"1", "true", "yes"}


def env_number(
    name: str,
    default: float,
    minimum: float,
    maximum: float,
    *,
    integer: bool = False,
    environ: Environ | None = None,
) -> float:
    """A numeric setting, `default` when unset; outside [minimum, maximum] (or not a number) it is one
    ConfigurationError line naming the variable, its range and the value given."""
    raw = text(name, environ=environ)
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = math.nan
    if not minimum <= value <= maximum:  # also False for NaN
        kind = "a whole number" if integer else "a number"
        raise ConfigurationError(f"{name} must be {kind} from {minimum:g} to {maximum:g}, got {raw!r}")
    return value


# --- database -------------------------------------------------------------------------------------------


def database_url(environ: Environ | None = None) -> str:
    """KIS_INTEL_DATABASE_URL as given; "" means the embedded server (storage checks the scheme)."""
    return text(DATABASE_URL_ENV, environ=environ)


@dataclass(frozen=True)
class DatabaseTimeoutSettings:
    """The two database bounds an operator sets; storage's DatabaseTimeouts derives the rest."""

    connect_seconds: float
    statement_seconds: float


def database_timeouts(environ: Environ | None = None) -> DatabaseTimeoutSettings:
    return DatabaseTimeoutSettings(
        connect_seconds=env_number(CONNECT_TIMEOUT_ENV, 10, 1, 300, integer=True, environ=environ),
        statement_seconds=env_number(STATEMENT_TIMEOUT_ENV, 120, 1, 3600, environ=environ),
    )


def database_password() -> str:
    """PGPASSWORD as libpq reads it (unstripped), so redaction masks exactly that text."""
    return os.environ.get(PASSWORD_ENV, "")


# --- local state and files ------------------------------------------------------------------------------


def project_home() -> Path:
    """Where the embedded database and other local state live (project-local by default)."""
    return Path(os.environ.get(HOME_ENV, DEFAULT_HOME)).resolve()


def cache_dir() -> Path:
    """Where the KRX calendar is cached (KIS_INTEL_CACHE_DIR, else the user's cache folder)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("kis-intel"))


def sql_dir() -> Path | None:
    """KIS_INTEL_SQL_DIR when set (migrations otherwise use the checkout's sql/ folder)."""
    configured = os.environ.get(SQL_DIR_ENV)
    return Path(configured) if configured else None


def dagster_home() -> Path | None:
    """DAGSTER_HOME when set."""
    configured = os.environ.get(DAGSTER_HOME_ENV)
    return Path(configured) if configured else None


def use_dagster_home(home: Path) -> None:
    """Point this process's Dagster instance (and the processes it starts) at `home`."""
    os.environ[DAGSTER_HOME_ENV] = str(home)


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, for a child process to start from (`dagster dev`)."""
    return dict(os.environ)


def timescale_retention() -> str:
    """KIS_INTEL_TIMESCALE_RETENTION as given, e.g. "intraday_program_trading=30" (migrations parse it)."""
    return text(RETENTION_ENV)


def timescale_compress_after() -> str:
    """KIS_INTEL_TIMESCALE_COMPRESS_AFTER_DAYS as given (migrations parse it)."""
    return text(COMPRESS_AFTER_ENV)


# --- partitions -----------------------------------------------------------------------------------------


def partition_start(environ: Environ | None = None) -> date:
    """KIS_INTEL_PARTITION_START (default 2023-01-02) as a date; partitions check it against the calendar."""
    raw = _environ(environ).get(PARTITION_START_ENV, DEFAULT_PARTITION_START)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigurationError(
            f"{PARTITION_START_ENV} must be a date like 2023-01-02, got {raw!r}"
        ) from None


# --- the KIS source -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KISSourceSettings:
    """Which server and broker the KIS client calls. URLs left "" mean the client's default (KIS's real or
    paper domain, KIS's master-file host, Kiwoom's real domain); credentials never show in a repr."""

    app_key: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    base_url: str = ""
    master_base_url: str = ""
    paper: bool = False
    market_division: str = "J"
    source: str = "kis"
    kiwoom_base_url: str = ""


def kis_source(environ: Environ | None = None) -> KISSourceSettings:
    def read(name: str, default: str = "") -> str:
        return text(name, default, environ=environ)

    return KISSourceSettings(
        app_key=read(APP_KEY_ENV),
        app_secret=read(APP_SECRET_ENV),
        base_url=read(BASE_URL_ENV),
        master_base_url=read(MASTER_BASE_URL_ENV),
        paper=flag(PAPER_ENV, environ=environ),
        market_division=read(MARKET_DIVISION_ENV, "J"),
        source=read(SOURCE_ENV, "kis"),
        kiwoom_base_url=read(KIWOOM_BASE_URL_ENV),
    )


def gateway_clients_file(environ: Environ | None = None) -> Path | None:
    """KIS_GATEWAY_CLIENTS: the gateway's local clients file, when set."""
    configured = _environ(environ).get(GATEWAY_CLIENTS_ENV)
    return Path(configured) if configured else None


# --- alerts and pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertVariable:
    """One alert setting: the AlertsResource field it fills, its variable, default and secrecy."""

    field: str
    env: str
    default: str = ""
    secret: bool = False


# The one list of alert settings: AlertSettings.from_env reads it, AlertsResource's fields are built from it.
ALERT_VARIABLES: tuple[AlertVariable, ...] = (
    AlertVariable("slack_webhook_url", SLACK_WEBHOOK_ENV, secret=True),
    AlertVariable("slack_bot_token", SLACK_BOT_TOKEN_ENV, secret=True),
    AlertVariable("slack_channel", SLACK_CHANNEL_ENV),
    AlertVariable("slack_api_url", SLACK_API_URL_ENV, DEFAULT_SLACK_API_URL),
    AlertVariable("discord_webhook_url", DISCORD_WEBHOOK_ENV, secret=True),
    AlertVariable("dagster_webserver_url", DAGSTER_URL_ENV, DEFAULT_DAGSTER_URL),
    AlertVariable("pages_url", PAGES_URL_ENV, DEFAULT_PAGES_URL),
)


def alert_values(environ: Environ | None = None) -> dict[str, str]:
    """Each alert setting (by AlertsResource field name) as the environment sets it, or its default."""
    return {var.field: text(var.env, var.default, environ=environ) for var in ALERT_VARIABLES}


def pages_url() -> str:
    """Base URL of the dashboard pages (KIS_INTEL_PAGES_URL, else the local server), no trailing slash."""
    return text(PAGES_URL_ENV).rstrip("/") or DEFAULT_PAGES_URL


def flows_source(environ: Environ | None = None) -> str:
    """KIS_INTEL_FLOWS_SOURCE as given (lower case), "kis" when unset; the KRX resource validates it."""
    return text(FLOWS_SOURCE_ENV, "kis", environ=environ).lower()
