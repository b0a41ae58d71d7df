"""Fixtures for the alert tests: the loopback Slack/Discord stand-in, channels pointed at it (with
recognisable secrets to hunt for in logs and the database), and a Dagster instance on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest

from kis_intel_assets.alerts import DiscordWebhookChannel, SlackBotChannel, SlackWebhookChannel
from kis_intel_assets_tests.support.alert_channels import (
    DISCORD_PATH,
    SLACK_API_PATH,
    SLACK_PATH,
    SLACK_TOKEN,
    WebhookChannels,
)
from kis_intel_assets_tests.support.databases import create_database, drop_database
from kis_intel_assets_tests.support.webhook_receiver import WebhookReceiver, running_receiver


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(receiver_server: WebhookReceiver) -> Iterator[WebhookReceiver]:
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
def channels(receiver: WebhookReceiver) -> Iterator[WebhookChannels]:
    test_channels = WebhookChannels(
        slack=SlackWebhookChannel(receiver.url(SLACK_PATH)),
        slack_bot=SlackBotChannel(SLACK_TOKEN, "#시장-알림", receiver.url(SLACK_API_PATH)),
        discord=DiscordWebhookChannel(receiver.url(DISCORD_PATH)),
    )
    yield test_channels
    for channel in test_channels.all:
        channel.close()


@pytest.fixture(scope="module")
def dagster_pg_instance(postgres_server_url: str) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose run, event and schedule storage is a fresh PostgreSQL database.

    The psycopg2 scheme is explicit: SQLAlchemy 2.1 would pick psycopg 3 for postgresql://, whose
    placeholders break dagster-postgres's NOTIFY.
    """
    name = f"kis_test_dagster_{uuid.uuid4().hex[:10]}"
    url = create_database(postgres_server_url, name)
    storage_url = urlunsplit(urlsplit(url)._replace(scheme="postgresql+psycopg2"))
    try:
        with dg.instance_for_test(
            overrides={"storage": {"postgres": {"postgres_url": storage_url}}}
        ) as instance:
            yield instance
    finally:
        drop_database(postgres_server_url, name)
