"""The alert sensors ticking against a Dagster instance on PostgreSQL, posting to the loopback receiver."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import dagster as dg
import pytest

from kis_intel_assets.alerts import AlertSettings, channels_from_settings
from kis_intel_assets.defs.alerts.definitions import alert_resources, alert_sensors
from kis_intel_assets.defs.alerts.resources import AlertsResource, alerts_resource_from_env
from kis_intel_assets.defs.alerts.sensors import asset_check_failure_alerts, run_failure_alerts
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.alert_channels import DISCORD_PATH, SLACK_PATH
from kis_intel_assets_tests.support.alert_rows import (
    D1,
    D2,
    add_concentrated,
    add_overheat,
    add_rotation,
    add_stock,
)
from kis_intel_assets_tests.support.webhook_receiver import Reply, WebhookReceiver

SENSORS = {sensor.name: sensor for sensor in alert_sensors}


@pytest.fixture
def resources(database_url: str, receiver: WebhookReceiver) -> dict[str, object]:
    return {
        "database": DatabaseResource(url=database_url),
        "alerts": AlertsResource(
            slack_webhook_url=receiver.url(SLACK_PATH),
            discord_webhook_url=receiver.url(DISCORD_PATH),
            dagster_webserver_url="http://dagster.test:3000",
            delivery_budget_seconds=10,
        ),
    }


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    cursor: str | None,
    resources: dict[str, object],
):
    return sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    )


def outbox(url: str, alert_type: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            """SELECT entity, trading_day, detail, payload FROM alert_outbox
                WHERE alert_type = %s ORDER BY alert_id""",
            (alert_type,),
        ).fetchall()


def test_table_sensors_alert_each_new_row_once_and_keep_a_day_watermark(
    dagster_pg_instance: dg.DagsterInstance,
    database_url: str,
    receiver: WebhookReceiver,
    resources: dict[str, object],
) -> None:
    sensor = SENSORS["short_overheat_alerts"]
    for symbol, name in (("005930", "삼성전자"), ("000660", "SK하이닉스"), ("035420", "NAVER")):
        add_stock(database_url, symbol, name)
    add_overheat(database_url, D1, "005930")

    first = tick(sensor, dagster_pg_instance, None, resources)
    assert first.cursor == "2025-06-02" and first.run_requests == []
    assert first.skip_message.startswith("1 new short_overheat alert(s); delivery: 2 sent")
    assert len(receiver.requests(SLACK_PATH)) == len(receiver.requests(DISCORD_PATH)) == 1

    again = tick(sensor, dagster_pg_instance, first.cursor, resources)
    assert again.cursor == "2025-06-02" and again.skip_message.startswith("0 new")
    assert len(receiver.requests(SLACK_PATH)) == 1  # nothing sent twice across ticks

    add_overheat(database_url, D2, "005930")
    add_overheat(database_url, D1, "000660")  # the latest seen day re-run with one more designation
    add_overheat(database_url, date(2025, 5, 30), "035420")  # a backfill below the watermark: history
    receiver.script(DISCORD_PATH, *[Reply(500, body="discord is down")] * 3)
    third = tick(sensor, dagster_pg_instance, again.cursor, resources)  # a failing channel: no crash
    assert third.cursor == "2025-06-04"
    assert "2 new" in third.skip_message and "(down: discord)" in third.skip_message
    assert [(e, d) for e, d, _, _ in outbox(database_url, "short_overheat")] == [
        ("005930", D1),
        ("000660", D1),
        ("005930", D2),
    ]
    titles = [r.json["blocks"][0]["text"]["text"] for r in receiver.requests(SLACK_PATH)]
    assert titles[1:] == [
        "⚠️ 공매도 과열종목 지정 — SK하이닉스 (000660)",
        "⚠️ 공매도 과열종목 지정 — 삼성전자 (005930)",
    ]

    add_rotation(database_url, D2, "G25")
    add_concentrated(database_url, D2, "000660", "institution")
    for name, alert_type in (
        ("rotation_transition_alerts", "rotation_transition"),
        ("concentrated_buying_alerts", "concentrated_buying"),
    ):
        result = tick(SENSORS[name], dagster_pg_instance, None, resources)
        assert result.cursor == "2025-06-04" and result.skip_message.startswith("1 new"), name
        assert len(outbox(database_url, alert_type)) == 1
    slack_titles = [r.json["blocks"][0]["text"]["text"] for r in receiver.requests(SLACK_PATH)]
    assert slack_titles[-2:] == [
        "ℹ️ 섹터 로테이션 신호 전환 — 반도체 (flow) (G25): NEUTRAL → INFLOW",
        "ℹ️ 기관 집중 매수 — SK하이닉스 (000660)",
    ]


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("coverage", asset="tiny_prices"),
        dg.AssetCheckSpec("keys_unique", asset="tiny_prices"),
        dg.AssetCheckSpec("row_count", asset="tiny_prices"),
    ]
)
def tiny_prices() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="coverage",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="커버리지 81% (기준 95%)",
                metadata={"min_coverage": 0.81, "days": dg.MetadataValue.json(["2025-06-04"])},
            ),
            dg.AssetCheckResult(check_name="keys_unique", passed=False, severity=dg.AssetCheckSeverity.ERROR),
            dg.AssetCheckResult(check_name="row_count", passed=True),
        ]
    )


@pytest.mark.parametrize("storage", ["postgres", "sqlite"])
def test_failed_checks_of_any_severity_alert_once(
    storage: str,
    request: pytest.FixtureRequest,
    database_url: str,
    receiver: WebhookReceiver,
    resources: dict[str, object],
) -> None:
    """WARN and non-blocking ERROR failures leave the run green; the sensor still alerts each once."""
    instance = request.getfixturevalue("dagster_pg_instance" if storage == "postgres" else "sqlite_instance")
    run = dg.materialize([tiny_prices], instance=instance, tags={"dagster/partition": "2025-06-04"})
    assert run.success
    first = tick(asset_check_failure_alerts, instance, None, resources)
    assert first.cursor.startswith("events:" if storage == "postgres" else "runs:")
    mine = [row for row in outbox(database_url, "asset_check_failure") if row[3]["run_id"] == run.run_id]
    assert [(e, d, detail) for e, d, detail, _ in mine] == [
        ("tiny_prices:coverage", date(2025, 6, 4), f"{run.run_id}:"),
        ("tiny_prices:keys_unique", date(2025, 6, 4), f"{run.run_id}:"),
    ]
    assert mine[0][3]["metadata"] == {"min_coverage": 0.81, "days": ["2025-06-04"]}
    sent = [r.json["embeds"][0] for r in receiver.requests(DISCORD_PATH)]
    warn = next(e for e in sent if "coverage" in e["title"])
    assert warn["title"] == "Asset check 실패 [WARN] — tiny_prices · coverage"
    assert warn["description"].startswith("커버리지 81% (기준 95%)")
    assert warn["url"] == "http://dagster.test:3000/assets/tiny_prices?view=checks&checkDetail=coverage"
    assert warn["color"] == 0xF39C12

    requests_before = len(receiver.requests())
    second = tick(asset_check_failure_alerts, instance, first.cursor, resources)
    assert second.cursor == first.cursor and second.skip_message.startswith("0 new")
    assert len(receiver.requests()) == requests_before


@pytest.fixture
def sqlite_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:  # run-sharded SQLite, as a plain DAGSTER_HOME has
        yield instance


@dg.asset
def broken_prices() -> None:
    raise RuntimeError("KIS 응답 없음 (EGW00201)")


def test_run_failure_alerts_with_the_step_error_and_run_link(
    dagster_pg_instance: dg.DagsterInstance,
    database_url: str,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_INTEL_SLACK_WEBHOOK_URL", receiver.url(SLACK_PATH))
    monkeypatch.delenv("KIS_INTEL_DISCORD_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://dagster.test:3000")
    resources = {"database": DatabaseResource(url=database_url), "alerts": alerts_resource_from_env()}
    started = tick(run_failure_alerts, dagster_pg_instance, None, resources)  # cursor starts at "now"
    run = dg.materialize(
        [broken_prices],
        instance=dagster_pg_instance,
        raise_on_error=False,
        tags={"dagster/partition": "2025-06-04"},
    )
    assert not run.success
    tick(run_failure_alerts, dagster_pg_instance, started.cursor, resources)
    ((entity, day, detail, payload),) = outbox(database_url, "run_failure")
    assert (entity, day, detail) == ("__ephemeral_asset_job__", date(2025, 6, 4), run.run_id)
    assert payload["asset_keys"] == ["broken_prices"]
    assert "broken_prices: RuntimeError: KIS 응답 없음 (EGW00201)" in payload["error"]
    (slack,) = receiver.requests(SLACK_PATH)
    blocks = slack.json["blocks"]
    assert blocks[0]["text"]["text"] == "🚨 Run 실패 — __ephemeral_asset_job__"
    assert f"<http://dagster.test:3000/runs/{run.run_id}|Dagster run>" == blocks[3]["text"]["text"]
    assert receiver.requests(DISCORD_PATH) == []  # unconfigured: skipped


def test_alert_definitions_load_with_the_project_and_run_by_default() -> None:
    from kis_intel_assets.definitions import defs

    merged = dg.Definitions.merge(defs, dg.Definitions(sensors=alert_sensors, resources=alert_resources))
    dg.Definitions.validate_loadable(merged)
    assert sorted(SENSORS) == [
        "asset_check_failure_alerts",
        "concentrated_buying_alerts",
        "rotation_transition_alerts",
        "run_failure_alerts",
        "short_overheat_alerts",
    ]
    assert {s.default_status for s in alert_sensors} == {dg.DefaultSensorStatus.RUNNING}
    assert {s.minimum_interval_seconds for s in alert_sensors} == {30, 60}


def test_an_unconfigured_channel_is_said_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("alerts-once-test")
    for _ in range(3):  # three sensor ticks
        for channel in channels_from_settings(AlertSettings(), log):
            channel.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "alerts-once-test"]
    assert len(lines) == len(set(lines)) == 4, lines  # slack webhook, slack bot, discord, console


def test_a_catch_up_backfill_alerts_only_the_newest_trading_days(
    dagster_pg_instance: dg.DagsterInstance, database_url: str, resources: dict[str, object]
) -> None:
    """Last alerted 2025-05-26, then a week of days lands at once: the two newest trading days alert."""
    add_stock(database_url, "005930", "삼성전자")
    caught_up = [date(2025, 5, 27), date(2025, 5, 28), date(2025, 5, 29), date(2025, 5, 30), D1, D2]
    for day in caught_up:
        add_overheat(database_url, day, "005930")
    result = tick(SENSORS["short_overheat_alerts"], dagster_pg_instance, "2025-05-26", resources)
    assert result.cursor == D2.isoformat()
    assert [day for _, day, _, _ in outbox(database_url, "short_overheat")] == [D1, D2]
