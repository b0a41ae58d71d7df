"""A delivering process SIGKILLed in the middle of a send, five times, against the loopback Slack/Discord
stand-in: where the channel allows it (Discord's enforced nonce, the Slack bot's history lookup) every
alert is shown exactly once; a Slack incoming webhook shows at most one duplicate per crash; and every
attempt, including each one cut short, is in alert_attempt. Before the send-before marker each kill
gave a duplicate on every channel, with the row still at attempts = 1.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from kis_intel_assets.alerts import AlertSettings, channels_from_settings, deliver_pending, run_failure_alert
from kis_intel_assets.alerts.delivery import DEFAULT_BUDGET_SECONDS, LEASE_MARGIN
from kis_intel_assets.alerts.model import (
    DISCORD_WEBHOOK_ENV,
    SLACK_API_URL_ENV,
    SLACK_BOT_TOKEN_ENV,
    SLACK_CHANNEL_ENV,
    SLACK_WEBHOOK_ENV,
)
from kis_intel_assets.alerts.outbox import write_alerts
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.alert_channels import (
    DISCORD_PATH,
    SLACK_API_PATH,
    SLACK_PATH,
    SLACK_TOKEN,
)
from kis_intel_assets_tests.support.webhook_receiver import WebhookReceiver

ALERTS = 2
CHANNELS = ("discord", "slack", "slack_bot")  # the order passes claim them in
KILLS = ALERTS * len(CHANNELS)  # every (alert, channel) delivery is cut short once
SLACK_CHANNEL_ID = "C0KISALERT"
# One pass in a child process, with the channels from the environment as a deployment configures them.
DELIVER = "import sys; from kis_intel_assets.alerts import deliver_pending; deliver_pending(sys.argv[1])"


def environment(receiver: WebhookReceiver) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_INTEL_")}
    return {
        **env,
        DISCORD_WEBHOOK_ENV: receiver.url(DISCORD_PATH),
        SLACK_WEBHOOK_ENV: receiver.url(SLACK_PATH),
        SLACK_BOT_TOKEN_ENV: SLACK_TOKEN,
        SLACK_CHANNEL_ENV: SLACK_CHANNEL_ID,
        SLACK_API_URL_ENV: receiver.url(SLACK_API_PATH),
    }


def kill_during_send(database_url: str, receiver: WebhookReceiver, env: dict[str, str]) -> None:
    """Start a delivery pass and SIGKILL it once its request has reached the platform."""
    before = len(receiver.requests())
    receiver.holding = True
    process = subprocess.Popen([sys.executable, "-c", DELIVER, database_url], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(receiver.requests()) == before:
            assert process.poll() is None, "the delivery pass ended before sending"
            assert time.monotonic() < deadline, "no request reached the receiver"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        receiver.holding = False
        if process.poll() is None:
            process.kill()


def attempts(database_url: str) -> dict[str, list[tuple[int, int, str | None]]]:
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT channel, alert_id, attempt, outcome FROM alert_attempt ORDER BY alert_id, attempt"
        ).fetchall()
    return {c: [r[1:] for r in rows if r[0] == c] for c in CHANNELS}


def test_kills_during_delivery_duplicate_nothing_where_the_channel_allows_and_record_every_attempt(
    receiver: WebhookReceiver, database_url: str
) -> None:
    with connect(database_url) as conn:
        alerts = [
            run_failure_alert(run_id=f"run-{i}", job_name="daily", error="boom", failed_at=time.time())
            for i in range(ALERTS)
        ]
        assert write_alerts(conn, alerts) == ALERTS
    env = environment(receiver)
    for _ in range(KILLS):  # each pass claims the next delivery: the killed ones are still leased
        kill_during_send(database_url, receiver, env)
    assert all(
        [outcome for _, _, outcome in rows] == [None] * ALERTS for rows in attempts(database_url).values()
    )  # a marker per cut-short send, and no answer recorded

    # The next pass, once the leases have run out (a later clock instead of a sleep).
    lease = timedelta(seconds=DEFAULT_BUDGET_SECONDS) + LEASE_MARGIN
    settings = AlertSettings.from_env(env)
    channels = channels_from_settings(settings, logging.getLogger(__name__))
    report = deliver_pending(database_url, channels, now=datetime.now(UTC) + lease + timedelta(seconds=1))
    for channel in channels:
        channel.close()

    assert (report.sent, report.pending, report.recovered) == (KILLS, 0, ALERTS)  # recovered: the bot's
    recorded = attempts(database_url)
    unknown_then = {"discord": "sent", "slack_bot": "already_sent", "slack": "sent"}
    for channel, second in unknown_then.items():
        expected = [(i, n, o) for i in range(1, ALERTS + 1) for n, o in ((1, "unknown"), (2, second))]
        assert recorded[channel] == expected, channel
    # Discord's enforced nonce and the bot's own history: each alert shown once.
    assert len(receiver.shown(DISCORD_PATH)) == ALERTS
    assert len(receiver.shown(SLACK_CHANNEL_ID)) == ALERTS
    # The incoming webhook has no handle on its messages: one duplicate per crash, visible above.
    assert len(receiver.shown(SLACK_PATH)) == 2 * ALERTS
    with connect(database_url) as conn:
        rows = conn.execute("SELECT status, attempts, lease_until FROM alert_delivery").fetchall()
    assert rows == [("sent", 2, None)] * KILLS
