"""How a channel reads the platform's answer when it is not the usual one: a 200 that is not Slack's JSON is
retried, a Retry-After that is not a number falls back to the channel's own backoff, Discord's JSON
retry_after is honoured without the header, and a Slack history that cannot be read means "cannot tell"."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from kis_intel_assets.alerts import Alert, AlertType, Links, Severity, SlackBotChannel, render
from kis_intel_assets.alerts.channels import MAX_TRIES, Outcome, Status
from kis_intel_assets_tests.support.alert_channels import (
    DISCORD_PATH,
    SLACK_API_PATH,
    SLACK_TOKEN,
    WebhookChannels,
)
from kis_intel_assets_tests.support.webhook_receiver import Reply, WebhookReceiver

BOT_PATH = SLACK_API_PATH + "/chat.postMessage"
HISTORY_PATH = SLACK_API_PATH + "/conversations.history"
MESSAGE = render(
    Alert(
        AlertType.CONCENTRATED_BUYING,
        "005930",
        date(2025, 6, 2),
        Severity.INFO,
        {"symbol": "005930", "name": "삼성전자", "investor": "foreign", "consecutive_days": 3},
    ),
    Links("http://dagster.test:3000", "http://pages.test:8050"),
)


def send(channel: SlackBotChannel | object, key: str = "alert-1") -> Outcome:
    return channel.send(MESSAGE, deadline=time.monotonic() + 20, key=key)  # type: ignore[union-attr]


def test_a_bot_answer_that_is_not_json_is_retried(
    receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    receiver.script(BOT_PATH, *[Reply(200, body="<html>maintenance</html>")] * MAX_TRIES)
    outcome = send(channels.slack_bot)
    assert outcome.status is Status.RETRY
    assert outcome.error == "slack_bot: HTTP 200 <html>maintenance</html>"
    assert len(receiver.requests(BOT_PATH)) == MAX_TRIES


def test_retry_after_comes_from_discords_body_or_falls_back_to_the_backoff(
    receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    receiver.script(DISCORD_PATH, *[Reply(429, body={"message": "rate limited", "retry_after": 0.05})] * 3)
    assert send(channels.discord).retry_after == 0.05
    receiver.script(DISCORD_PATH, *[Reply(429, {"Retry-After": "soon"}, "slow down")] * MAX_TRIES)
    outcome = send(channels.discord, key="alert-2")
    assert outcome.status is Status.RETRY and outcome.retry_after is None
    assert len(receiver.requests(DISCORD_PATH)) == 3 + MAX_TRIES


def test_a_history_that_cannot_be_read_cannot_tell(
    receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert channels.slack_bot.already_delivered("alert-1", since, deadline=time.monotonic() + 5) is None
    assert receiver.requests(HISTORY_PATH) == []  # a #name is no channel ID: history is not even asked

    by_id = SlackBotChannel(SLACK_TOKEN, "C0KISALERT", receiver.url(SLACK_API_PATH))
    try:
        receiver.script(HISTORY_PATH, Reply(200, body="not json"), Reply(200, body={"ok": False}))
        assert by_id.already_delivered("alert-1", since, deadline=time.monotonic() + 5) is None
        assert by_id.already_delivered("alert-1", since, deadline=time.monotonic() + 5) is None
        assert send(by_id).status is Status.SENT
        assert by_id.already_delivered("alert-1", since, deadline=time.monotonic() + 5) is True
        assert by_id.already_delivered("alert-2", since, deadline=time.monotonic() + 5) is False
    finally:
        by_id.close()
