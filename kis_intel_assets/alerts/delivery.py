"""One bounded delivery pass over the outbox: every due (alert, channel) row gets one send attempt.

Each send is preceded by a committed lease and attempt marker (outbox.claim_next), so a delivering
process killed mid-send is noticed once its lease runs out: the next pass asks the channel whether the
message arrived (Slack bot) or re-sends it under the same idempotency key (Discord nonce), and only
re-sends blindly where the channel offers neither (Slack webhook, console: at most one duplicate per
crash, visible in alert_attempt as an `unknown` attempt followed by a `sent` one).

A channel that answers with a transient failure is left alone for the rest of the pass (its remaining
alerts stay pending, untouched) so a Slack outage costs one timeout per pass, not one per alert.
Persistent backoff lives in next_attempt_at: a later pass (the next sensor tick) retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from kis_intel_assets.alerts.channels import Channel, Outcome, Status, channels_from_settings, redact
from kis_intel_assets.alerts.model import Alert, AlertSettings, Links
from kis_intel_assets.alerts.outbox import claim_next, enroll, pending_count, record_attempt
from kis_intel_assets.alerts.render import render
from kis_intel_assets.storage import connect

DEFAULT_BUDGET_SECONDS = 20.0
DEFAULT_MAX_AGE = timedelta(days=2)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# A lease outlives the longest send of a pass (its budget) by this much; after it, the send is presumed dead.
LEASE_MARGIN = timedelta(seconds=10)

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    recovered: int = 0  # of `sent`: interrupted by a crash earlier, found delivered without a new post
    retrying: int = 0  # attempted this pass, failed transiently, still pending
    failed: int = 0  # rejected permanently
    pending: int = 0  # still pending after the pass (retrying, not yet due, or out of time)
    channels: list[str] = field(default_factory=list)
    down_channels: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # already scrubbed of secrets

    def summary(self) -> str:
        text = (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, {self.pending} pending "
            f"via {', '.join(self.channels) or 'no channel'}"
        )
        return text + (f" (down: {', '.join(self.down_channels)})" if self.down_channels else "")


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential from 30 s, capped at an hour, and never sooner than the channel asked for."""
    backoff = min(RETRY_BASE * 2 ** max(0, attempts - 1), RETRY_CAP)
    return max(backoff, timedelta(seconds=retry_after or 0))


def deliver_pending(
    database_url: str,
    channels: Sequence[Channel] | None = None,
    now: datetime | None = None,
    *,
    links: Links | None = None,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    max_age: timedelta = DEFAULT_MAX_AGE,
    log: logging.Logger | Any = logger,
) -> DeliveryReport:
    """Send what is due; `channels` default to the environment's (console when none is configured).

    `now` is the clock the outbox is judged by (due times, max age, sent_at): tests pass a later `now`
    to reach a retry without sleeping. Never raises for a channel failure; errors are in the report.
    """
    now = now or datetime.now(UTC)
    deadline = time.monotonic() + budget_seconds
    links = links or Links.from_env()
    with ExitStack() as owned:
        if channels is None:
            channels = channels_from_settings(AlertSettings.from_env(), log)
            for channel in channels:
                owned.callback(channel.close)
        by_name = {channel.name: channel for channel in channels}
        report = DeliveryReport(channels=list(by_name))
        with connect(database_url) as conn:
            enroll(conn, list(by_name), now, max_age)
            lease = timedelta(seconds=budget_seconds) + LEASE_MARGIN
            while time.monotonic() < deadline:
                live = [name for name in by_name if name not in report.down_channels]
                if not live or not _deliver_one(
                    conn, by_name, live, now, lease, deadline, report, links, log
                ):
                    break
            report.pending = pending_count(conn, list(by_name))
    return report


def _deliver_one(
    conn: psycopg.Connection,
    by_name: dict[str, Channel],
    live: list[str],
    now: datetime,
    lease: timedelta,
    deadline: float,
    report: DeliveryReport,
    links: Links,
    log: logging.Logger | Any,
) -> bool:
    """Claim (committing the send-before marker), send and record one delivery; False when nothing is
    due on the live channels."""
    claim = claim_next(conn, live, now, lease)
    if claim is None:
        return False
    stored, channel = claim.stored, by_name[claim.channel]
    if claim.interrupted_at is not None:
        log.warning(
            f"alerts: {claim.channel} delivery of alert {stored.alert_id} was interrupted by a crash; "
            "checking whether it arrived before sending again"
        )
        if channel.already_delivered(claim.key, claim.interrupted_at, deadline=deadline):
            record_attempt(conn, claim, now, "already_sent")
            report.sent += 1
            report.recovered += 1
            return True
    outcome = _attempt(channel, stored.alert, links, deadline, claim.key)
    if outcome.status is Status.SENT:
        record_attempt(conn, claim, now, "sent")
        report.sent += 1
        return True
    error = outcome.error or f"{claim.channel}: unknown error"
    report.errors.append(error)
    if outcome.status is Status.FAILED:
        record_attempt(conn, claim, now, "failed", error=error)
        report.failed += 1
        log.warning(f"alerts: {claim.channel} rejected alert {stored.alert_id} permanently: {error}")
    else:
        delay = retry_delay(claim.attempts, outcome.retry_after)
        record_attempt(conn, claim, now, "retry", error=error, next_attempt_at=now + delay)
        report.retrying += 1
        report.down_channels.append(claim.channel)
        log.warning(
            f"alerts: {claim.channel} unavailable ({error}); alert {stored.alert_id} and the rest stay "
            f"pending, next try in {int(delay.total_seconds())}s"
        )
    return True


def _attempt(channel: Channel, alert: Alert, links: Links, deadline: float, key: str) -> Outcome:
    """One send whose unexpected errors become outcomes: one bad alert or a channel bug must not stop the
    pass (an alert that cannot be rendered would otherwise block its channel forever)."""
    try:
        message = render(alert, links)
    except (KeyError, TypeError, ValueError) as exc:
        return Outcome(Status.FAILED, f"{channel.name}: cannot render the alert: {type(exc).__name__}: {exc}")
    try:
        return channel.send(message, deadline=deadline, key=key)
    except Exception as exc:
        return Outcome(Status.RETRY, redact(f"{channel.name}: {type(exc).__name__}: {exc}"))
