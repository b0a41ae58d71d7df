"""The KRX data portal as a Dagster resource: optional, and off unless both credentials are set.

The portal's terms limit automated collection, so nothing calls it by default: without `KRX_ID` and
`KRX_PW` the KRX assets make no request (they are skipped, not materialized) and the product says once
per process that short-selling balance then comes from the stock lending data only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import Field as ConfigField

from kis_intel_assets import settings
from kis_intel_assets.krx import KRXClient, KRXCredentials
from kis_intel_assets.krx.client import DEFAULT_REQUESTS_PER_SECOND, MAX_REQUESTS_PER_SECOND
from kis_intel_assets.krx.portal import DEFAULT_BASE_URL
from kis_intel_assets.storage import ConfigurationError

ID_ENV, PASSWORD_ENV = settings.KRX_ID_ENV, settings.KRX_PW_ENV
BASE_URL_ENV, FLOWS_SOURCE_ENV = settings.KRX_BASE_URL_ENV, settings.FLOWS_SOURCE_ENV
FLOWS_SOURCES = ("kis", "krx")
DEFAULT_CHECK_SAMPLE = 5
KRX_OFF = (
    f"KRX not configured ({ID_ENV} / {PASSWORD_ENV} unset): no KRX request is made, and short-selling "
    "balance comes from the stock lending data (stock_lending) only"
)
_said: set[str] = set()  # the lines already said in this process


class KRXResource(dg.ConfigurableResource):
    """The KRX data portal (or its simulator): short-selling balance and whole-market investor flows.

    `flows_source` = "krx" builds `investor_trends` from KRX's all-stock tables (24 requests a day instead
    of one KIS request per stock); `check_sample` stocks a run still fetch from KIS, so the
    KIS-vs-KRX reconciliation always compares real rows.
    """

    login_id: str = ConfigField(default="", repr=False, description=f"secret (EnvVar {ID_ENV}); empty = off")
    password: str = ConfigField(default="", repr=False, description=f"secret (EnvVar {PASSWORD_ENV})")
    base_url: str = ConfigField(default=DEFAULT_BASE_URL, description=f"portal URL ({BASE_URL_ENV})")
    requests_per_second: float = ConfigField(
        default=DEFAULT_REQUESTS_PER_SECOND,
        gt=0,
        le=MAX_REQUESTS_PER_SECOND,
        description="pacing of every process sharing the database; the portal blocks heavy users",
    )
    flows_source: str = ConfigField(
        default="kis", description=f"kis (default) or krx: source of investor_trends ({FLOWS_SOURCE_ENV})"
    )
    check_sample: int = ConfigField(
        default=DEFAULT_CHECK_SAMPLE,
        ge=1,
        le=100,
        description="stocks fetched from KIS per run under flows_source=krx, for the reconciliation",
    )

    @property
    def configured(self) -> bool:
        return bool(self.login_id.strip() and self.password)

    @property
    def fast_path(self) -> bool:
        """Whether investor_trends comes from KRX; a bad or unusable setting is a ConfigurationError."""
        if self.flows_source not in FLOWS_SOURCES:
            raise ConfigurationError(
                f"{FLOWS_SOURCE_ENV} must be one of {', '.join(FLOWS_SOURCES)}, got {self.flows_source!r}"
            )
        if self.flows_source == "krx" and not self.configured:
            raise ConfigurationError(f"{FLOWS_SOURCE_ENV}=krx needs {ID_ENV} and {PASSWORD_ENV}")
        return self.flows_source == "krx"

    @contextmanager
    def client(self, database_url: str) -> Iterator[KRXClient]:
        """A logged-in-on-demand client; pacing and the circuit breaker are shared through the database."""
        credentials = KRXCredentials(self.login_id, self.password)
        with KRXClient(
            self.base_url, credentials, database_url, requests_per_second=self.requests_per_second
        ) as client:
            yield client


def say_krx_off(log: logging.Logger | Any) -> None:
    """KRX being off is a setting, not news: one line per process, however many runs and assets."""
    if KRX_OFF not in _said:
        _said.add(KRX_OFF)
        log.info(KRX_OFF)


def krx_resource_from_env(environ: Mapping[str, str] | None = None) -> KRXResource:
    """The credentials as EnvVars when set (an unset EnvVar would fail every launch), else KRX off."""
    return KRXResource(
        login_id=dg.EnvVar(ID_ENV) if settings.is_set(ID_ENV, environ=environ) else "",
        password=dg.EnvVar(PASSWORD_ENV) if settings.is_set(PASSWORD_ENV, environ=environ) else "",
        base_url=settings.text(BASE_URL_ENV, DEFAULT_BASE_URL, environ=environ),
        flows_source=settings.flows_source(environ),
    )
