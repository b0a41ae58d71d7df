"""Channel clients: Slack (incoming webhook, or a bot token through chat.postMessage), Discord webhook,
and the console.

Webhook URLs and tokens are credentials (anyone holding a webhook URL can post), so they are scrubbed
from every error text this module produces and from httpx's own request log lines; the outbox records a
channel's name, never its address. A send returns an Outcome instead of raising: a channel that is down
must leave its alerts pending, not stop the other channels or the sensor.

Every send carries the (alert, channel)'s idempotency key, so a send repeated after a crash can be
recognised: Discord gets it as the message `nonce` with `enforce_nonce` (the platform returns the first
message instead of posting a second one within a few minutes), the Slack bot as message metadata that
`already_delivered` looks up with conversations.history. A Slack incoming webhook and the console have no
such handle: after a crash mid-send they may show a message twice.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TextIO

import httpx

from kis_intel_assets.alerts.formats import console_text, discord_payload, slack_payload
from kis_intel_assets.alerts.model import (
    DISCORD_WEBHOOK_ENV,
    SLACK_BOT_TOKEN_ENV,
    SLACK_WEBHOOK_ENV,
    AlertSettings,
)
from kis_intel_assets.alerts.render import Message

MAX_TRIES = 3
MAX_INLINE_WAIT_SECONDS = 2.0  # a longer Retry-After is honoured by the outbox's next_attempt_at instead
RETRY_BACKOFF_SECONDS = (0.5, 1.0)
REQUEST_TIMEOUT_SECONDS = 10.0
ERROR_EXCERPT_CHARS = 200
# Slack answers chat.postMessage errors with HTTP 200 and ok=false; these few are worth retrying.
SLACK_TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
}
SLACK_EVENT_TYPE = "kis_intel_alert"
SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
HISTORY_SKEW_SECONDS = 60.0
SECRET_SHAPES = re.compile(
    r"https?://[^\s\"']*(?:hooks\.slack\.com/services|/api/webhooks)/[^\s\"']+|xox[a-z]-[A-Za-z0-9-]+"
)

_known_secrets: set[str] = set()


def redact(text: str) -> str:
    """Remove every configured secret, and anything shaped like a webhook URL or Slack token."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return SECRET_SHAPES.sub("***", text)


class _RedactSecrets(logging.Filter):
    """httpx logs each request's full URL at INFO; for a webhook that URL is the credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logging.getLogger("httpx").addFilter(_RedactSecrets())


class Status(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: leave pending, try again after retry_after / backoff
    FAILED = "failed"  # permanent: retrying the same request cannot succeed


@dataclass(frozen=True)
class Outcome:
    status: Status
    error: str | None = None
    retry_after: float | None = None


class Channel(Protocol):
    name: str

    def send(self, message: Message, *, deadline: float, key: str) -> Outcome: ...

    def already_delivered(self, key: str, since: datetime, *, deadline: float) -> bool | None:
        """True / False when the channel can tell whether the message with `key` arrived since `since`;
        None when it cannot (the caller then sends again)."""
        ...

    def close(self) -> None: ...


class ConsoleChannel:
    """Prints alerts: what `kis-intel demo` and an unconfigured `dagster dev` would have sent."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: Message, *, deadline: float, key: str) -> Outcome:
        print(console_text(message), file=self._stream or sys.stdout, flush=True)
        return Outcome(Status.SENT)

    def already_delivered(self, key: str, since: datetime, *, deadline: float) -> bool | None:
        return None

    def close(self) -> None:
        pass


class _HttpChannel:
    """POST a JSON body with bounded retries: 429 honours Retry-After, 5xx and network errors back off."""

    name: str

    def __init__(self, url: str, secrets: tuple[str, ...]) -> None:
        self._url = url
        _known_secrets.update(s for s in secrets if s)
        self._http = httpx.Client(follow_redirects=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def close(self) -> None:
        self._http.close()

    def _body(self, message: Message, key: str) -> dict[str, Any]:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        return {}

    def already_delivered(self, key: str, since: datetime, *, deadline: float) -> bool | None:
        return None

    def _judge(self, response: httpx.Response) -> Outcome:
        if response.is_success:
            return Outcome(Status.SENT)
        if response.status_code == 429:
            return Outcome(Status.RETRY, self._error(response), _retry_after(response))
        if response.status_code >= 500 or response.status_code == 408:
            return Outcome(Status.RETRY, self._error(response))
        return Outcome(Status.FAILED, self._error(response))

    def _error(self, response: httpx.Response) -> str:
        excerpt = " ".join(response.text.split())[:ERROR_EXCERPT_CHARS]
        return redact(f"{self.name}: HTTP {response.status_code} {excerpt}".strip())

    def send(self, message: Message, *, deadline: float, key: str) -> Outcome:
        # UTF-8 JSON with ensure_ascii=False semantics: Korean text goes over the wire as itself.
        body = _json_bytes(self._body(message, key))
        headers = {"Content-Type": "application/json; charset=utf-8", **self._headers()}
        outcome = Outcome(Status.RETRY, f"{self.name}: no time left to send")
        for attempt in range(MAX_TRIES):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                response = self._http.post(
                    self._url, content=body, headers=headers, timeout=min(REQUEST_TIMEOUT_SECONDS, remaining)
                )
                outcome = self._judge(response)
            except httpx.HTTPError as exc:
                # str(exc) may quote the request URL; keep only the exception type and a scrubbed reason.
                outcome = Outcome(Status.RETRY, redact(f"{self.name}: {type(exc).__name__}: {exc}"))
            if outcome.status is not Status.RETRY or attempt == MAX_TRIES - 1:
                break
            wait = outcome.retry_after if outcome.retry_after is not None else RETRY_BACKOFF_SECONDS[attempt]
            if wait > MAX_INLINE_WAIT_SECONDS or time.monotonic() + wait >= deadline:
                break
            time.sleep(wait)
        return outcome


class SlackWebhookChannel(_HttpChannel):
    name = "slack"

    def __init__(self, webhook_url: str) -> None:
        super().__init__(webhook_url, (webhook_url,))

    def _body(self, message: Message, key: str) -> dict[str, Any]:
        return slack_payload(message)


class SlackBotChannel(_HttpChannel):
    """chat.postMessage over plain HTTP (the slack_sdk/dagster-slack route would pin extra packages).

    Each message carries its idempotency key as metadata; after a crash mid-send, conversations.history
    (scope channels:history, and the channel given by ID, C…) shows whether it was posted.
    """

    name = "slack_bot"

    def __init__(self, token: str, channel: str, api_url: str) -> None:
        super().__init__(f"{api_url.rstrip('/')}/chat.postMessage", (token,))
        self._token, self._channel = token, channel
        self._history_url = f"{api_url.rstrip('/')}/conversations.history"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _body(self, message: Message, key: str) -> dict[str, Any]:
        return {
            **slack_payload(message, channel=self._channel),
            "metadata": {"event_type": SLACK_EVENT_TYPE, "event_payload": {"key": key}},
        }

    def _judge(self, response: httpx.Response) -> Outcome:
        outcome = super()._judge(response)
        if outcome.status is not Status.SENT:
            return outcome
        try:
            answer = response.json()
        except ValueError:
            return Outcome(Status.RETRY, self._error(response))
        if answer.get("ok") is True:
            return outcome
        error = str(answer.get("error", "unknown_error"))
        status = Status.RETRY if error in SLACK_TRANSIENT_ERRORS else Status.FAILED
        return Outcome(status, redact(f"{self.name}: chat.postMessage error {error}"))

    def already_delivered(self, key: str, since: datetime, *, deadline: float) -> bool | None:
        """Look for our own message with this key posted since `since` (less a minute of clock skew)."""
        if not SLACK_CHANNEL_ID.fullmatch(self._channel):
            return None  # conversations.history takes a channel ID, not a #name
        params = {
            "channel": self._channel,
            "oldest": f"{since.timestamp() - HISTORY_SKEW_SECONDS:.6f}",
            "limit": "200",
            "include_all_metadata": "true",
        }
        try:
            response = self._http.get(
                self._history_url,
                params=params,
                headers=self._headers(),
                timeout=max(0.1, min(REQUEST_TIMEOUT_SECONDS, deadline - time.monotonic())),
            )
            answer = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        if not (response.is_success and isinstance(answer, dict) and answer.get("ok") is True):
            return None
        return any(
            (m.get("metadata") or {}).get("event_type") == SLACK_EVENT_TYPE
            and ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == key
            for m in answer.get("messages", [])
            if isinstance(m, dict)
        )


class DiscordWebhookChannel(_HttpChannel):
    name = "discord"

    def __init__(self, webhook_url: str) -> None:
        # wait=true makes Discord confirm the message was created instead of answering before it is.
        separator = "&" if "?" in webhook_url else "?"
        super().__init__(f"{webhook_url}{separator}wait=true", (webhook_url,))

    def _body(self, message: Message, key: str) -> dict[str, Any]:
        # The nonce (≤ 25 characters) with enforce_nonce: a repeat within minutes returns the first message.
        return {**discord_payload(message), "nonce": key, "enforce_nonce": True}


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from the Retry-After header, or Discord's JSON `retry_after` when the header is absent."""
    header = response.headers.get("Retry-After", "").strip()
    try:
        if header:
            return max(0.0, float(header))
        body = response.json()
        return (
            max(0.0, float(body["retry_after"])) if isinstance(body, dict) and "retry_after" in body else None
        )
    except (ValueError, KeyError, TypeError):
        return None


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# (logger name, line) pairs already said: an unconfigured channel is a setting, not news, so a sensor
# ticking every 30 s says it once per process instead of on every tick.
_SAID: set[tuple[str, str]] = set()


def _say_once(log: logging.Logger | Any, line: str) -> None:
    key = (str(getattr(log, "name", "")), line)
    if key not in _SAID:
        _SAID.add(key)
        log.info(line)


def channels_from_settings(settings: AlertSettings, log: logging.Logger | Any) -> list[Channel]:
    """The configured channels; each unconfigured one is skipped with one log line per process, and with
    none configured the console stands in so alerts are still visible."""
    channels: list[Channel] = []
    if settings.slack_webhook_url:
        channels.append(SlackWebhookChannel(settings.slack_webhook_url))
    else:
        _say_once(log, f"alerts: Slack webhook not configured ({SLACK_WEBHOOK_ENV} unset); skipping it")
    if settings.slack_bot_token:
        channels.append(
            SlackBotChannel(settings.slack_bot_token, settings.slack_channel, settings.slack_api_url)
        )
    else:
        _say_once(log, f"alerts: Slack bot not configured ({SLACK_BOT_TOKEN_ENV} unset); skipping it")
    if settings.discord_webhook_url:
        channels.append(DiscordWebhookChannel(settings.discord_webhook_url))
    else:
        _say_once(log, f"alerts: Discord webhook not configured ({DISCORD_WEBHOOK_ENV} unset); skipping it")
    if not channels:
        _say_once(log, "alerts: no channel configured; printing alerts to the console")
        channels.append(ConsoleChannel())
    return channels
