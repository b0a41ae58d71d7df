"""Producers read real rows from the analytics tables in PostgreSQL and queue each alert exactly once."""

from __future__ import annotations

from datetime import date

import pytest

from kis_intel_assets.alerts import AlertType, check_failure_alert, collect_alerts, run_failure_alert
from kis_intel_assets.alerts.producers import SOURCE_BY_TYPE, collect_source
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.alert_rows import (
    D1,
    D2,
    add_concentrated,
    add_overheat,
    add_rotation,
    add_stock,
)


def outbox(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            """SELECT alert_type, entity, trading_day, detail, severity, payload FROM alert_outbox
                ORDER BY alert_type, trading_day, entity, detail"""
        ).fetchall()


def test_collect_alerts_defaults_to_the_newest_day_and_never_queues_twice(database_url: str) -> None:
    add_stock(database_url, "005930", "삼성전자")
    add_overheat(database_url, D1, "005930")
    add_overheat(database_url, D2, "005930", rule_type=1)
    add_concentrated(database_url, D2, "005930", "foreign")
    add_concentrated(database_url, D2, "005930", "institution")

    assert collect_alerts(database_url) == 3  # D2's overheat + two investors; D1 is history
    assert collect_alerts(database_url) == 0
    assert collect_alerts(database_url, since_day=D1) == 1  # D1's designation, nothing repeated
    rows = outbox(database_url)
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("concentrated_buying", D2, "foreign"),
        ("concentrated_buying", D2, "institution"),
        ("short_overheat", D1, ""),
        ("short_overheat", D2, ""),
    ]
    overheat = rows[3]
    assert overheat[1] == "005930" and overheat[4] == "warning"
    assert overheat[5] == {
        "symbol": "005930",
        "name": "삼성전자",
        "market": "KOSPI",
        "rule_type": 1,
        "price_change_pct": -3.45,
        "short_ratio": 35.2,
        "short_value_multiple": 2.81,
        "short_ratio_40d": 4.1,
        "ban_start": "2025-06-05",
        "ban_date": "2025-06-05",
        "ban_days": 1,
    }
    assert rows[0][5]["net_value_5d"] == 123456789012 and rows[0][5]["reason"].startswith("5일 연속")


def test_stock_names_are_point_in_time(database_url: str) -> None:
    add_stock(database_url, "035720", "다음카카오", valid_from=date(2025, 1, 2))
    add_stock(database_url, "035720", "카카오", valid_from=date(2025, 6, 3))
    add_overheat(database_url, D1, "035720")
    add_overheat(database_url, D2, "035720")
    collect_alerts(database_url, since_day=D1)
    names = {r[2]: r[5]["name"] for r in outbox(database_url)}
    assert names == {D1: "다음카카오", D2: "카카오"}


def test_rotation_alerts_are_signal_changes_with_sector_name_and_the_new_signal(database_url: str) -> None:
    add_stock(database_url, "000660", "SK하이닉스", sector="G25")
    add_stock(database_url, "035420", "NAVER", sector="G45")
    add_rotation(database_url, D2, "G25")
    add_rotation(database_url, D2, "G45", with_flow_row=False)  # name falls back to stock_master
    assert collect_alerts(database_url) == 2  # the quadrant hops on the same days do not alert
    payloads = {r[1]: (r[3], r[5]) for r in outbox(database_url)}
    detail, g25 = payloads["G25"]
    assert detail == "signal"
    assert g25 == {
        "sector_code": "G25",
        "kind": "signal",
        "from_state": "NEUTRAL",
        "to_state": "INFLOW",
        "sector_name": "반도체 (flow)",
        "signal": "INFLOW",
        "score": 1.2345,
        "reason": "외국인·기관 동반 유입, RS 상승",
        "quadrant": "Leading",
        "rs_ratio": 101.5,
        "rs_momentum": 100.8,
    }
    assert payloads["G45"][1]["sector_name"] == "IT 서비스"


def test_collect_source_returns_a_watermark_that_never_moves_back(database_url: str) -> None:
    source = SOURCE_BY_TYPE[AlertType.SHORT_OVERHEAT]
    with connect(database_url) as conn:
        assert collect_source(conn, source, None) == (0, None)  # empty table: nothing, no watermark
        add_stock(database_url, "005930", "삼성전자")
        add_overheat(database_url, D1, "005930")
        assert collect_source(conn, source, None) == (1, D1)
        assert collect_source(conn, source, D2) == (0, D2)


def test_check_and_run_failures_are_dated_by_partition_else_by_kst_day() -> None:
    # 2025-06-02 16:30 UTC is 2025-06-03 01:30 in Seoul.
    evaluated_at = 1748881800.0
    warn = check_failure_alert(
        asset_path=["daily_prices"],
        check_name="coverage_vs_universe",
        severity="WARN",
        run_id="run-1",
        evaluated_at=evaluated_at,
    )
    assert (warn.trading_day, warn.severity, warn.entity) == (
        date(2025, 6, 3),
        "warning",
        "daily_prices:coverage_vs_universe",
    )
    partitioned = check_failure_alert(
        asset_path=["daily_prices"],
        check_name="x",
        severity="ERROR",
        run_id="run-1",
        evaluated_at=evaluated_at,
        partition="2025-05-30",
    )
    assert partitioned.trading_day == date(2025, 5, 30) and partitioned.detail == "run-1:2025-05-30"
    failed = run_failure_alert(
        run_id="r", job_name="daily_market_data", error="x" * 5000, failed_at=evaluated_at
    )
    assert failed.trading_day == date(2025, 6, 3) and len(failed.payload["error"]) == 1500
    with pytest.raises(ValueError, match="severity must be one of"):
        check_failure_alert(asset_path=["a"], check_name="c", severity="FATAL", run_id="r", evaluated_at=0)
    with pytest.raises(ValueError, match="needs an entity"):
        run_failure_alert(run_id="r", job_name="", error="", failed_at=0)
