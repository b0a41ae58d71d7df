"""Each alert type rendered into Slack Block Kit and Discord embeds: structure, Korean text, links, limits."""

from __future__ import annotations

from datetime import date

from kis_intel_assets.alerts import Alert, AlertType, Links, Severity, check_failure_alert, render
from kis_intel_assets.alerts.formats import console_text, discord_payload, slack_payload

LINKS = Links("http://dagster.local:3000", "http://pages.local:8050")
DAY = date(2025, 6, 2)
OVERHEAT = Alert(
    AlertType.SHORT_OVERHEAT,
    "005930",
    DAY,
    Severity.WARNING,
    {
        "symbol": "005930",
        "name": "삼성전자",
        "market": "KOSPI",
        "rule_type": 4,
        "price_change_pct": -3.45,
        "short_ratio": 35.2,
        "short_value_multiple": 2.81,
        "short_ratio_40d": None,
        "ban_start": "2025-06-03",
        "ban_date": "2025-06-04",
        "ban_days": 2,
    },
)


def test_overheat_in_slack_block_kit() -> None:
    payload = slack_payload(render(OVERHEAT, LINKS))
    header, summary, fields, links, context = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "⚠️ 공매도 과열종목 지정 — 삼성전자 (005930)", "emoji": True},
    }
    assert summary["type"] == "section" and summary["text"]["type"] == "mrkdwn"
    assert "공매도 금지 2025-06-03 ~ 2025-06-04 (2일)" in summary["text"]["text"]
    texts = [f["text"] for f in fields["fields"]]
    assert all(f["type"] == "mrkdwn" for f in fields["fields"])
    assert texts == [
        "*유형*\n④ 주가 3% 이상 하락 · 공매도 비중 30% 이상 · 증가 배율 2배",
        "*시장*\nKOSPI",
        "*주가 등락률*\n-3.45%",
        "*공매도 비중*\n35.20%",
        "*공매도 증가 배율*\n2.81배",
        "*40일 평균 공매도 비중*\n–",
        "*공매도 금지*\n2025-06-03 ~ 2025-06-04 (2일)",
    ]
    assert links["text"]["text"] == (
        "<http://pages.local:8050/overheat?date=2025-06-02|대시보드>  ·  "
        "<http://dagster.local:3000/assets/short_overheat?view=partitions&partition=2025-06-02|Dagster>"
    )
    assert context == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "kis-intel · short_overheat · 2025-06-02"}],
    }
    assert payload["text"].startswith("⚠️ 공매도 과열종목 지정 — 삼성전자")
    assert "channel" not in payload
    assert slack_payload(render(OVERHEAT, LINKS), channel="#alerts")["channel"] == "#alerts"


def test_overheat_in_a_discord_embed_coloured_by_severity() -> None:
    payload = discord_payload(render(OVERHEAT, LINKS))
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["title"] == "공매도 과열종목 지정 — 삼성전자 (005930)"
    assert embed["color"] == 0xF39C12
    assert embed["url"] == "http://pages.local:8050/overheat?date=2025-06-02"
    assert "[대시보드](http://pages.local:8050/overheat?date=2025-06-02)" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["공매도 비중"] == "35.20%"
    assert all(f["inline"] for f in embed["fields"])
    assert embed["footer"] == {"text": "kis-intel · short_overheat · 2025-06-02"}


def test_market_alerts_link_their_own_dashboard_page_and_asset() -> None:
    buying = Alert(
        AlertType.CONCENTRATED_BUYING,
        "000660",
        DAY,
        Severity.INFO,
        {
            "symbol": "000660",
            "name": "SK하이닉스",
            "investor": "institution",
            "net_value_5d": 52_300_000_000,
            "pct_of_market_cap": 0.31,
            "zscore": 3.4,
            "consecutive_days": 4,
            "reason": "기관 4일 연속 순매수",
        },
    )
    message = render(buying, LINKS)
    assert message.title == "기관 집중 매수 — SK하이닉스 (000660)"
    assert dict(message.fields)["5일 순매수"] == "523.0억원"
    assert message.links[0] == ("대시보드", "http://pages.local:8050/sectors?date=2025-06-02")
    assert discord_payload(message)["embeds"][0]["color"] == 0x3498DB
    rotation = Alert(
        AlertType.ROTATION_TRANSITION,
        "G25",
        DAY,
        Severity.INFO,
        {
            "sector_code": "G25",
            "sector_name": "반도체",
            "kind": "signal",
            "from_state": "NEUTRAL",
            "to_state": "INFLOW",
            "signal": "INFLOW",
            "score": 1.5,
            "reason": None,
        },
    )
    message = render(rotation, LINKS)
    assert message.title == "섹터 로테이션 신호 전환 — 반도체 (G25): NEUTRAL → INFLOW"
    assert message.links[0][1] == "http://pages.local:8050/rotation?date=2025-06-02"
    assert "RRG 사분면: –" in console_text(message)


def test_check_failure_links_to_checks_and_run_and_shows_metadata() -> None:
    alert = check_failure_alert(
        asset_path=["daily_prices"],
        check_name="coverage_vs_universe",
        severity="ERROR",
        run_id="abc-123",
        evaluated_at=0,
        partition="2025-06-02",
        description="커버리지 부족 <90%>",
        blocking=False,
        metadata={"min_coverage": 0.81, "days_below_threshold": {"2025-06-02": 0.81}},
    )
    message = render(alert, LINKS)
    assert message.title == "Asset check 실패 [ERROR] — daily_prices · coverage_vs_universe"
    assert message.links == (
        (
            "Dagster check",
            "http://dagster.local:3000/assets/daily_prices?view=checks&checkDetail=coverage_vs_universe",
        ),
        (
            "Dagster partition",
            "http://dagster.local:3000/assets/daily_prices?view=partitions&partition=2025-06-02",
        ),
        ("Dagster run", "http://dagster.local:3000/runs/abc-123"),
    )
    assert ("days_below_threshold", '{"2025-06-02": 0.81}') in message.fields
    slack = slack_payload(message)
    assert slack["blocks"][1]["text"]["text"] == "커버리지 부족 &lt;90%&gt;"  # mrkdwn control characters
    assert discord_payload(message)["embeds"][0]["color"] == 0xE74C3C


def test_long_texts_are_clipped_to_platform_limits() -> None:
    alert = Alert(
        AlertType.RUN_FAILURE,
        "daily_market_data",
        DAY,
        Severity.ERROR,
        {
            "run_id": "r",
            "job_name": "daily_market_data",
            "error": "오류 " * 3000,
            "asset_keys": ["a" * 3000] * 3,
        },
    )
    message = render(alert, LINKS)
    slack = slack_payload(message)
    assert len(slack["blocks"][0]["text"]["text"]) <= 150
    assert all(
        len(b["text"]["text"]) <= 3000 for b in slack["blocks"] if b["type"] == "section" and "text" in b
    )
    assert all(len(f["text"]) <= 2000 for b in slack["blocks"] for f in b.get("fields", []))
    (embed,) = discord_payload(message)["embeds"]
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000 and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert embed["description"].endswith(")")  # the run link survives clipping of the error text
