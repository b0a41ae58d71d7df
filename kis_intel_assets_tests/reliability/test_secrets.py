"""Recognisable fake secrets go in (app key, app secret, the issued access token, webhook URLs); the whole
pipeline runs (ingest, analytics, a failed check, alert collection and delivery to a loopback receiver);
then everything the product produced is searched for them: logs, stdout/stderr, the Dagster event log and
run records, exception texts, alert payloads and every column of every table. Any hit fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import dagster as dg
import httpx
import psycopg
import pytest
from psycopg import sql

from kis_intel_assets.alerts import collect_alerts, deliver_pending, write_alerts
from kis_intel_assets.defs.alerts.check_events import check_failure_alerts, failed_check_evaluations
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.tokens import TokenCipher, app_key_hash
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.simulators import SimulatorFactory
from kis_intel_assets_tests.support.webhook_receiver import WebhookReceiver, running_receiver

pytestmark = pytest.mark.faults

APP_KEY = "PSappkeyLEAKCANARY0a1b2c3d4e5f"
APP_SECRET = "appsecretLEAKCANARY9f8e7d6c5b4a3210"
SLACK_SECRET = "slackhookLEAKCANARY77aa"
DISCORD_SECRET = "discordhookLEAKCANARY88bb"
SLACK_PATH = f"/services/T0LEAK/B0LEAK/{SLACK_SECRET}"
DISCORD_PATH = f"/api/webhooks/4242/{DISCORD_SECRET}"
INGEST_DAYS = trading_days(date(2025, 2, 3), date(2025, 6, 5))
ANALYTICS_DAYS = INGEST_DAYS[-4:]
INGEST = ["daily_prices", "investor_trends", "short_selling", "program_trading"]
ANALYTICS = ["stock_money_flow_index", "sector_money_flow", "short_overheat", "concentrated_buying"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in `text`, also as the hex PostgreSQL shows for bytea and as UTF-8 bytes."""
    return [s for s in secrets if s in text or s.encode().hex() in text]


def database_text(database_url: str) -> dict[str, str]:
    """Every row of every table as JSON text (bytea columns appear as hex)."""
    texts = {}
    with connect(database_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        for table in tables:
            rows = conn.execute(
                sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(table))
            ).fetchall()
            texts[table] = "\n".join(row[0] for row in rows)
    return texts


def event_log_text(instance: dg.DagsterInstance) -> str:
    parts = []
    for run in instance.get_runs():
        parts.append(dg.serialize_value(run))
        parts += [dg.serialize_value(entry) for entry in instance.all_logs(run.run_id)]
    return "\n".join(parts)


def test_no_secret_appears_in_anything_the_pipeline_produces(
    simulator_factory: SimulatorFactory,
    database_url: str,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level("DEBUG")
    monkeypatch.setenv("KIS_APP_KEY", APP_KEY)
    monkeypatch.setenv("KIS_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("KIS_INTEL_SLACK_WEBHOOK_URL", receiver.url(SLACK_PATH))
    monkeypatch.setenv("KIS_INTEL_DISCORD_WEBHOOK_URL", receiver.url(DISCORD_PATH))
    sim = simulator_factory(
        seed=31,
        n_symbols=12,
        start=date(2025, 1, 2),
        end=date(2025, 6, 30),
        rate_limit_per_sec=100,
        allowed_keys={APP_KEY: APP_SECRET},
        token_min_interval_seconds=0.0,  # lets the test ask for the (same) token itself afterwards
    )
    database = DatabaseResource(url=database_url)
    resources = {
        "database": database,
        "kis": KISResource(
            app_key=dg.EnvVar("KIS_APP_KEY"),
            app_secret=dg.EnvVar("KIS_APP_SECRET"),
            database=database,
            base_url=sim.base_url,
            master_base_url=sim.master_base_url,
            rate_limit_per_sec=100,
        ),
    }
    exception_texts: list[str] = []
    with dg.instance_for_test() as instance:
        assert materialize_selection(["stock_universe"], resources, instance=instance).success
        assert materialize_selection(INGEST, resources, days=INGEST_DAYS, instance=instance).success
        assert materialize_selection(ANALYTICS, resources, days=ANALYTICS_DAYS, instance=instance).success
        target = sim.truth.symbols()[0]
        # Alone and seeded, the corruption hits a field the client parses (as in the ingest tests).
        sim.set_faults(FaultSpec.parse(f"bad_field@FHPST04830000:{target}=1", seed=0))
        failed = materialize_selection(
            ["short_selling"], resources, days=ANALYTICS_DAYS[-1:], instance=instance, raise_on_error=False
        )
        sim.set_faults(None)
        assert not failed.success
        exception_texts += [
            str(event.step_failure_data.error) for event in failed.all_events if event.is_step_failure
        ]
        failures, _ = failed_check_evaluations(instance, None)
        assert failures, "the bad field must fail the blocking schema check"
        with connect(database_url) as conn:
            write_alerts(conn, check_failure_alerts(instance, failures))
        collect_alerts(database_url)
        report = deliver_pending(database_url)
        events = event_log_text(instance)

    token = httpx.post(
        sim.base_url + "/oauth2/tokenP",
        json={"grant_type": "client_credentials", "appkey": APP_KEY, "appsecret": APP_SECRET},
    ).json()["access_token"]  # within 6 h KIS (and the simulator) hands back the same token
    assert sim.stats.token_issuances(APP_KEY) == 2  # the pipeline's one, and the test's own request
    secrets = [APP_KEY, APP_SECRET, token, SLACK_SECRET, DISCORD_SECRET]
    delivered = receiver.requests()
    assert {r.path for r in delivered} >= {SLACK_PATH, DISCORD_PATH}, report.summary()
    # The scanner finds a secret where one legitimately is: the receiver's own request paths.
    assert leaks(" ".join(r.path for r in delivered), secrets) == [SLACK_SECRET, DISCORD_SECRET]

    captured = capfd.readouterr()
    tables = database_text(database_url)
    places = {
        "logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "dagster event log and runs": events,
        "exceptions": "\n".join(exception_texts),
        "delivery report": report.summary(),
        "alert payloads": "\n".join(r.raw.decode() + r.query for r in delivered),
        **{f"table {name}": text for name, text in tables.items()},
    }
    found = {place: hits for place, text in places.items() if (hits := leaks(text, secrets))}
    assert found == {}
    assert tables["alert_outbox"] and events and caplog.text  # the scan covered real content
    # The token is stored, but only encrypted: the row decrypts to it with the app secret.
    with psycopg.connect(database_url) as conn:
        nonce, ciphertext = conn.execute("SELECT nonce, ciphertext FROM kis_token_store").fetchone()  # type: ignore[misc]
    key_hash = app_key_hash(Secret(APP_KEY))
    assert TokenCipher(Secret(APP_SECRET), key_hash).decrypt(nonce, ciphertext) == Secret(token)
