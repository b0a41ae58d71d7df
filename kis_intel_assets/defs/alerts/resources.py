"""The alerts resource: channel settings for the sensors.

Webhook URLs and the bot token are given as `dg.EnvVar`s, so the Dagster UI shows the variable's name
and never its value. An EnvVar whose variable is unset fails the resource at launch, and every channel
is optional, so `alerts_resource_from_env` passes an EnvVar only for the variables that are set.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field as ConfigField

from kis_intel_assets.alerts import (
    AlertSettings,
    DeliveryReport,
    Links,
    channels_from_settings,
    deliver_pending,
)
from kis_intel_assets.alerts.delivery import DEFAULT_BUDGET_SECONDS
from kis_intel_assets.alerts.model import (
    DAGSTER_URL_ENV,
    DEFAULT_SLACK_API_URL,
    DISCORD_WEBHOOK_ENV,
    PAGES_URL_ENV,
    SLACK_API_URL_ENV,
    SLACK_BOT_TOKEN_ENV,
    SLACK_CHANNEL_ENV,
    SLACK_WEBHOOK_ENV,
)


class AlertsResource(dg.ConfigurableResource):
    """Where alerts are posted (Slack, Discord; the console when neither is set) and what they link to."""

    slack_webhook_url: str = ConfigField(default="", repr=False, description=f"secret; {SLACK_WEBHOOK_ENV}")
    slack_bot_token: str = ConfigField(default="", repr=False, description=f"secret; {SLACK_BOT_TOKEN_ENV}")
    slack_channel: str = ConfigField(
        default="", description=f"channel for the bot token; {SLACK_CHANNEL_ENV}"
    )
    slack_api_url: str = ConfigField(default=DEFAULT_SLACK_API_URL, description=SLACK_API_URL_ENV)
    discord_webhook_url: str = ConfigField(
        default="", repr=False, description=f"secret; {DISCORD_WEBHOOK_ENV}"
    )
    dagster_webserver_url: str = ConfigField(default=Links().dagster_url, description=DAGSTER_URL_ENV)
    pages_url: str = ConfigField(default=Links().pages_url, description=PAGES_URL_ENV)
    delivery_budget_seconds: float = ConfigField(
        default=DEFAULT_BUDGET_SECONDS, gt=0, le=50, description="time one tick may spend posting alerts"
    )

    def settings(self) -> AlertSettings:
        return AlertSettings(
            slack_webhook_url=self.slack_webhook_url,
            slack_bot_token=self.slack_bot_token,
            slack_channel=self.slack_channel,
            slack_api_url=self.slack_api_url,
            discord_webhook_url=self.discord_webhook_url,
            links=Links(self.dagster_webserver_url, self.pages_url),
        )

    def deliver(self, database_url: str, log: Any) -> DeliveryReport:
        """Post what is due; channel failures end up in the report (and the outbox), never raised."""
        settings = self.settings()
        channels = channels_from_settings(settings, log)
        try:
            return deliver_pending(
                database_url,
                channels,
                links=settings.links,
                budget_seconds=self.delivery_budget_seconds,
                log=log,
            )
        finally:
            for channel in channels:
                channel.close()


def alerts_resource_from_env(environ: Mapping[str, str] | None = None) -> AlertsResource:
    environ = os.environ if environ is None else environ

    def secret(name: str) -> Any:
        return dg.EnvVar(name) if environ.get(name, "").strip() else ""

    def setting(name: str, default: str) -> str:
        return environ.get(name, "").strip() or default

    links = Links.from_env(environ)
    return AlertsResource(
        slack_webhook_url=secret(SLACK_WEBHOOK_ENV),
        slack_bot_token=secret(SLACK_BOT_TOKEN_ENV),
        slack_channel=setting(SLACK_CHANNEL_ENV, ""),
        slack_api_url=setting(SLACK_API_URL_ENV, DEFAULT_SLACK_API_URL),
        discord_webhook_url=secret(DISCORD_WEBHOOK_ENV),
        dagster_webserver_url=links.dagster_url,
        pages_url=links.pages_url,
    )
