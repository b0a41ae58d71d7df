"""The alert channels of the tests, pointed at the loopback webhook receiver, with recognisable secrets in
their URLs and token to hunt for in logs and the database."""

from __future__ import annotations

from dataclasses import dataclass

from kis_intel_assets.alerts import DiscordWebhookChannel, SlackBotChannel, SlackWebhookChannel

SLACK_PATH = "/services/T0KIS/B0INTEL/slack-secret-7f3a9c"
DISCORD_PATH = "/api/webhooks/1234567890/discord-secret-b81e44"
SLACK_API_PATH = "/slack-api"
SLACK_TOKEN = "xoxb-123-456-bot-secret-c0ffee"
SECRETS = ("slack-secret-7f3a9c", "discord-secret-b81e44", "bot-secret-c0ffee")


@dataclass
class WebhookChannels:
    slack: SlackWebhookChannel
    slack_bot: SlackBotChannel
    discord: DiscordWebhookChannel

    @property
    def all(self) -> list[SlackWebhookChannel | SlackBotChannel | DiscordWebhookChannel]:
        return [self.slack, self.slack_bot, self.discord]
