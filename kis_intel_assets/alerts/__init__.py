"""Alerts without Dagster: an outbox in PostgreSQL, producers, message formats and channel clients.

Flow: producers turn analytics rows, failed checks and failed runs into Alerts → write_alerts stores each
once → deliver_pending renders and posts them to Slack / Discord (or the console) with per-channel state.
"""

from kis_intel_assets.alerts.channels import (
    Channel,
    ConsoleChannel,
    DiscordWebhookChannel,
    Outcome,
    SlackBotChannel,
    SlackWebhookChannel,
    Status,
    channels_from_settings,
    redact,
)
from kis_intel_assets.alerts.delivery import DeliveryReport, deliver_pending
from kis_intel_assets.alerts.model import Alert, AlertSettings, AlertType, Links, Severity
from kis_intel_assets.alerts.outbox import write_alerts
from kis_intel_assets.alerts.producers import (
    TABLE_SOURCES,
    check_failure_alert,
    collect_alerts,
    collect_source,
    run_failure_alert,
)
from kis_intel_assets.alerts.render import Message, render

__all__ = [
    "TABLE_SOURCES",
    "Alert",
    "AlertSettings",
    "AlertType",
    "Channel",
    "ConsoleChannel",
    "DeliveryReport",
    "DiscordWebhookChannel",
    "Links",
    "Message",
    "Outcome",
    "Severity",
    "SlackBotChannel",
    "SlackWebhookChannel",
    "Status",
    "channels_from_settings",
    "check_failure_alert",
    "collect_alerts",
    "collect_source",
    "deliver_pending",
    "redact",
    "render",
    "run_failure_alert",
    "write_alerts",
]
