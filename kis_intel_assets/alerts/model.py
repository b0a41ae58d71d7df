"""What an alert is, and the settings that say where alerts go.

An alert is identified by (type, entity, trading day, detail): the outbox stores each identity once, so
a producer may see the same source row on every sensor tick without anyone being told twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from kis_intel_assets import settings
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.page_links import page_url
from kis_intel_assets.settings import (
    DAGSTER_URL_ENV,
    DEFAULT_DAGSTER_URL,
    DEFAULT_PAGES_URL,
    DEFAULT_SLACK_API_URL,
    DISCORD_WEBHOOK_ENV,
    PAGES_URL_ENV,
    SLACK_API_URL_ENV,
    SLACK_BOT_TOKEN_ENV,
    SLACK_CHANNEL_ENV,
    SLACK_WEBHOOK_ENV,
)

SEOUL = ZoneInfo("Asia/Seoul")


class AlertType(StrEnum):
    ROTATION_TRANSITION = "rotation_transition"
    CONCENTRATED_BUYING = "concentrated_buying"
    SHORT_OVERHEAT = "short_overheat"
    ASSET_CHECK_FAILURE = "asset_check_failure"
    RUN_FAILURE = "run_failure"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Alert:
    """One thing worth telling someone about; `payload` holds everything needed to render it later.

    Rendering happens at delivery time from the stored payload, so a message queued while a channel was
    down is formatted with the current base URLs and templates.
    """

    alert_type: AlertType
    entity: str
    trading_day: date
    severity: Severity
    payload: Mapping[str, Any]
    detail: str = ""

    def __post_init__(self) -> None:
        if not self.entity:
            raise ValueError(f"{self.alert_type} alert needs an entity (symbol, sector, check or job)")


@dataclass(frozen=True)
class StoredAlert:
    alert_id: int
    created_at: datetime
    alert: Alert


@dataclass(frozen=True)
class Links:
    """Base URLs of the Dagster UI and the dashboard pages that messages link to."""

    dagster_url: str = DEFAULT_DAGSTER_URL
    pages_url: str = DEFAULT_PAGES_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Links:
        values = settings.alert_values(environ)
        return cls(values["dagster_webserver_url"], values["pages_url"])

    def run(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{quote(run_id)}"

    def asset_check(self, asset_path: list[str], check_name: str) -> str:
        """The check's own page (its evaluations, per partition for a partitioned check)."""
        path = "/".join(quote(part, safe="") for part in asset_path)
        query = urlencode({"view": "checks", "checkDetail": check_name})
        return f"{self.dagster_url.rstrip('/')}/assets/{path}?{query}"

    def asset_partition(self, asset_key: str, day: date) -> str:
        query = urlencode({"view": "partitions", "partition": day.isoformat()})
        path = "/".join(quote(part, safe="") for part in asset_key.split("/"))
        return f"{self.dagster_url.rstrip('/')}/assets/{path}?{query}"

    def page(self, page: str, day: date) -> str:
        return page_url(page, day, base_url=self.pages_url)


@dataclass(frozen=True)
class AlertSettings:
    """Channel configuration; the secret fields never show in repr so settings can be logged safely."""

    slack_webhook_url: str = field(default="", repr=False)
    slack_bot_token: str = field(default="", repr=False)
    slack_channel: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    discord_webhook_url: str = field(default="", repr=False)
    links: Links = Links()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        return cls.from_values(settings.alert_values(environ))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> AlertSettings:
        """From the alert settings by name (settings.ALERT_VARIABLES: the environment's or the resource's)."""
        return cls(
            slack_webhook_url=values["slack_webhook_url"],
            slack_bot_token=values["slack_bot_token"],
            slack_channel=values["slack_channel"],
            slack_api_url=values["slack_api_url"],
            discord_webhook_url=values["discord_webhook_url"],
            links=Links(values["dagster_webserver_url"], values["pages_url"]),
        )

    def __post_init__(self) -> None:
        for env_name, value in (
            (SLACK_WEBHOOK_ENV, self.slack_webhook_url),
            (DISCORD_WEBHOOK_ENV, self.discord_webhook_url),
            (SLACK_API_URL_ENV, self.slack_api_url),
            (DAGSTER_URL_ENV, self.links.dagster_url),
            (PAGES_URL_ENV, self.links.pages_url),
        ):
            if value and not value.startswith(("https://", "http://")):
                # The value may be a secret: name the variable, never echo it.
                raise ConfigurationError(f"{env_name} must be an http(s):// URL")
        if bool(self.slack_bot_token) != bool(self.slack_channel):
            missing = SLACK_CHANNEL_ENV if self.slack_bot_token else SLACK_BOT_TOKEN_ENV
            raise ConfigurationError(
                f"the Slack bot needs both {SLACK_BOT_TOKEN_ENV} and {SLACK_CHANNEL_ENV}; {missing} is unset"
            )


def kst_day(moment: datetime | float) -> date:
    """The Korean calendar day of a timestamp (failures at 01:00 KST belong to that KST day)."""
    if isinstance(moment, (int, float)):
        moment = datetime.fromtimestamp(moment, tz=SEOUL)
    return moment.astimezone(SEOUL).date()
