"""Delivery from the outbox to a real HTTP stand-in for Slack and Discord on loopback."""

from __future__ import annotations

import io
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from kis_intel_assets.alerts import (
    AlertSettings,
    ConsoleChannel,
    DiscordWebhookChannel,
    Links,
    channels_from_settings,
    collect_alerts,
    deliver_pending,
)
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.alert_channels import (
    DISCORD_PATH,
    SECRETS,
    SLACK_API_PATH,
    SLACK_PATH,
    SLACK_TOKEN,
    WebhookChannels,
)
from kis_intel_assets_tests.support.alert_rows import D2, add_concentrated, add_overheat, add_stock
from kis_intel_assets_tests.support.webhook_receiver import Reply, WebhookReceiver

LINKS = Links("http://dagster.test:3000", "http://pages.test:8050")
BOT_PATH = SLACK_API_PATH + "/chat.postMessage"


def delivery_rows(url: str) -> dict[tuple[int, str], tuple]:
    with connect(url) as conn:
        rows = conn.execute(
            """SELECT alert_id, channel, status, attempts, last_error, next_attempt_at, sent_at
                 FROM alert_delivery"""
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def database_text(url: str) -> str:
    with connect(url) as conn:
        rows = conn.execute(
            """SELECT row_to_json(o)::text FROM alert_outbox o
               UNION ALL SELECT row_to_json(d)::text FROM alert_delivery d"""
        ).fetchall()
    return "\n".join(r[0] for r in rows)


def seed(url: str) -> None:
    add_stock(url, "005930", "삼성전자")
    add_overheat(url, D2, "005930")
    assert collect_alerts(url) == 1


def test_each_channel_gets_its_native_payload_once_with_korean_text_intact(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    seed(database_url)
    report = deliver_pending(database_url, channels.all, links=LINKS)
    assert (report.sent, report.pending, report.errors) == (3, 0, [])

    (slack,) = receiver.requests(SLACK_PATH)
    assert "삼성전자".encode() in slack.raw and b"\\u" not in slack.raw  # UTF-8, not \u escapes
    assert slack.headers["content-type"] == "application/json; charset=utf-8"
    blocks = slack.json["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context"]
    assert blocks[0]["text"]["text"] == "⚠️ 공매도 과열종목 지정 — 삼성전자 (005930)"
    assert "*공매도 증가 배율*\n2.81배" in [f["text"] for f in blocks[2]["fields"]]
    assert "<http://pages.test:8050/overheat?date=2025-06-04|대시보드>" in blocks[3]["text"]["text"]

    (bot,) = receiver.requests(BOT_PATH)
    assert bot.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert bot.json["channel"] == "#시장-알림" and bot.json["blocks"] == blocks

    (discord,) = receiver.requests(DISCORD_PATH)
    assert discord.query == "wait=true"
    (embed,) = discord.json["embeds"]
    assert embed["title"] == "공매도 과열종목 지정 — 삼성전자 (005930)"
    assert embed["color"] == 0xF39C12
    assert {f["name"]: f["value"] for f in embed["fields"]}["공매도 금지"] == "2025-06-05 ~ 2025-06-05 (1일)"

    # A second pass, and new rows for other alerts, never resend what was sent.
    assert deliver_pending(database_url, channels.all, links=LINKS).sent == 0
    add_concentrated(database_url, D2, "005930")
    collect_alerts(database_url)
    assert deliver_pending(database_url, channels.all, links=LINKS).sent == 3
    assert [len(receiver.requests(p)) for p in (SLACK_PATH, BOT_PATH, DISCORD_PATH)] == [2, 2, 2]
    assert {row[0] for row in delivery_rows(database_url).values()} == {"sent"}


def test_rate_limited_channel_gets_the_alert_later_and_others_are_not_held_up(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    seed(database_url)
    receiver.script(
        DISCORD_PATH, Reply(429, {"Retry-After": "30"}, {"message": "rate limited", "retry_after": 30})
    )
    now = datetime.now(UTC)
    report = deliver_pending(database_url, [channels.slack, channels.discord], now=now, links=LINKS)
    assert (report.sent, report.retrying, report.pending, report.down_channels) == (1, 1, 1, ["discord"])
    (state,) = [v for (_, channel), v in delivery_rows(database_url).items() if channel == "discord"]
    status, attempts, last_error, next_attempt_at, sent_at = state
    assert (status, attempts, sent_at) == ("pending", 1, None)
    assert last_error.startswith("discord: HTTP 429")
    assert next_attempt_at == now + timedelta(seconds=30)

    # Not due yet: nothing is sent; once due, it goes through and Slack is not posted to again.
    assert deliver_pending(database_url, [channels.slack, channels.discord], now=now, links=LINKS).sent == 0
    later = now + timedelta(seconds=31)
    report = deliver_pending(database_url, [channels.slack, channels.discord], now=later, links=LINKS)
    assert (report.sent, report.pending) == (1, 0)
    assert (len(receiver.requests(SLACK_PATH)), len(receiver.requests(DISCORD_PATH))) == (1, 2)
    assert [v[:2] for (_, c), v in delivery_rows(database_url).items() if c == "discord"] == [("sent", 2)]


def test_server_errors_are_retried_in_the_pass_then_left_pending_with_backoff(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    seed(database_url)
    receiver.script(SLACK_PATH, Reply(500, body="oops"))  # recovers on the inline retry
    receiver.script(DISCORD_PATH, *[Reply(503, body="down")] * 3)  # stays down for the whole pass
    receiver.script(BOT_PATH, Reply(429, {"Retry-After": "0.2"}, {"ok": False, "error": "ratelimited"}))
    now = datetime.now(UTC)
    report = deliver_pending(database_url, channels.all, now=now, links=LINKS)
    assert (report.sent, report.retrying, report.down_channels) == (2, 1, ["discord"])
    assert [len(receiver.requests(p)) for p in (SLACK_PATH, BOT_PATH, DISCORD_PATH)] == [2, 2, 3]
    discord = next(v for (_, c), v in delivery_rows(database_url).items() if c == "discord")
    assert discord[0] == "pending" and discord[2] == "discord: HTTP 503 down"
    assert discord[3] == now + timedelta(seconds=30)  # first backoff step
    assert deliver_pending(database_url, channels.all, now=now + timedelta(seconds=30), links=LINKS).sent == 1


def test_permanent_rejections_are_marked_failed_and_not_retried(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    seed(database_url)
    receiver.script(DISCORD_PATH, Reply(404, body={"message": "Unknown Webhook", "code": 10015}))
    receiver.script(BOT_PATH, Reply(200, body={"ok": False, "error": "channel_not_found"}))
    report = deliver_pending(database_url, channels.all, links=LINKS)
    assert (report.sent, report.failed) == (1, 2)
    states = {c: v for (_, c), v in delivery_rows(database_url).items()}
    assert states["discord"][:3] == (
        "failed",
        1,
        'discord: HTTP 404 {"message":"Unknown Webhook","code":10015}',
    )
    assert states["slack_bot"][:3] == ("failed", 1, "slack_bot: chat.postMessage error channel_not_found")
    later = datetime.now(UTC) + timedelta(hours=2)
    assert deliver_pending(database_url, channels.all, now=later, links=LINKS).sent == 0
    assert len(receiver.requests(DISCORD_PATH)) == 1


def test_concurrent_passes_send_every_alert_exactly_once(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels
) -> None:
    add_stock(database_url, "005930", "삼성전자")
    symbols = ("000660", "035420", "051910", "005380", "068270", "207940", "105560", "055550")
    for symbol in symbols:
        add_stock(database_url, symbol, f"종목{symbol}")
        add_concentrated(database_url, D2, symbol)
    assert collect_alerts(database_url) == 8
    receiver.delay_seconds = 0.1  # 0.8 s of sending: ample time for both passes to be running at once
    second = DiscordWebhookChannel(receiver.url(DISCORD_PATH))  # another process's client, same webhook
    reports = []
    workers = [
        threading.Thread(
            target=lambda ch=ch: reports.append(deliver_pending(database_url, [ch], links=LINKS))
        )
        for ch in (channels.discord, second)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    second.close()
    assert sum(r.sent for r in reports) == 8 and all(r.sent > 0 for r in reports)  # both did share the work
    titles = [r.json["embeds"][0]["title"] for r in receiver.requests(DISCORD_PATH)]
    assert len(titles) == 8 and len(set(titles)) == 8


def test_no_secret_reaches_logs_database_errors_or_reprs(
    database_url: str, receiver: WebhookReceiver, channels: WebhookChannels, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed(database_url)
    unreachable = DiscordWebhookChannel("http://127.0.0.1:9" + DISCORD_PATH)  # nothing listens on port 9
    receiver.script(SLACK_PATH, Reply(400, body=f"invalid_payload for {receiver.url(SLACK_PATH)}"))
    report = deliver_pending(database_url, [channels.slack, channels.slack_bot, unreachable], links=LINKS)
    unreachable.close()
    assert report.sent == 1 and report.failed == 1 and report.down_channels == ["discord"]
    assert "HTTP Request: POST" in caplog.text  # httpx did log its requests …
    evidence = [caplog.text, database_text(database_url), *report.errors, *map(repr, channels.all)]
    evidence.append(
        repr(AlertSettings(slack_webhook_url=receiver.url(SLACK_PATH), discord_webhook_url="https://x/y"))
    )
    for text in evidence:  # … but no secret survives anywhere
        for secret in SECRETS:
            assert secret not in text
    assert any(e.startswith("discord: ConnectError") for e in report.errors)
    with pytest.raises(ConfigurationError, match="KIS_INTEL_DISCORD_WEBHOOK_URL must be an http") as error:
        AlertSettings(discord_webhook_url="ftp://discord-secret-b81e44")
    assert "discord-secret" not in str(error.value)


def test_unconfigured_channels_are_skipped_with_one_log_line_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("alerts-test")
    only_slack = channels_from_settings(AlertSettings(slack_webhook_url="https://hooks.example/x"), log)
    assert [c.name for c in only_slack] == ["slack"]
    for channel in only_slack:
        channel.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "alerts-test"]
    assert lines == [
        "alerts: Slack bot not configured (KIS_INTEL_SLACK_BOT_TOKEN unset); skipping it",
        "alerts: Discord webhook not configured (KIS_INTEL_DISCORD_WEBHOOK_URL unset); skipping it",
    ]
    with pytest.raises(ConfigurationError, match="KIS_INTEL_SLACK_CHANNEL is unset"):
        AlertSettings(slack_bot_token="xoxb-1")


def test_without_channels_the_console_shows_what_would_be_sent(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("KIS_INTEL_SLACK_WEBHOOK_URL", "KIS_INTEL_SLACK_BOT_TOKEN", "KIS_INTEL_DISCORD_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIS_INTEL_PAGES_URL", "http://pages.example:9000/")
    seed(database_url)
    report = deliver_pending(database_url)
    assert (report.sent, report.channels) == (1, ["console"])
    printed = capsys.readouterr().out
    assert "[WARNING] 공매도 과열종목 지정 — 삼성전자 (005930)" in printed
    assert "대시보드: http://pages.example:9000/overheat?date=2025-06-04" in printed
    stream = io.StringIO()
    assert deliver_pending(database_url, [ConsoleChannel(stream)]).sent == 0  # console already has it
