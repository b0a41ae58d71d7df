"""Alert payload → a channel-neutral message (title, summary, labelled fields, links).

Channel formats (formats.py) only lay a Message out; what an alert says lives here, once. Labels are
Korean because the readers are; asset, check and job names stay as Dagster spells them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from kis_intel_assets.alerts.model import Alert, AlertType, Links, Severity

MISSING = "–"
KRW_PER_EOK = 100_000_000
MAX_METADATA_FIELDS = 4

OVERHEAT_RULES = {
    1: "① 주가 5~10% 하락 · 공매도 비중 · 증가 배율",
    2: "② 주가 10% 이상 하락 · 증가 배율",
    3: "③ 40일 평균 공매도 비중 · 증가 배율 (KOSDAQ)",
    4: "④ 주가 3% 이상 하락 · 공매도 비중 30% 이상 · 증가 배율 2배",
}
INVESTOR_NAMES = {"foreign": "외국인", "institution": "기관"}
TRANSITION_KINDS = {"quadrant": "RRG 사분면", "signal": "로테이션 신호"}
# Where each market alert is explained: the asset that writes its table and the dashboard page.
MARKET_ALERT_HOMES = {
    AlertType.ROTATION_TRANSITION: ("rotation_signal", "rotation"),
    AlertType.CONCENTRATED_BUYING: ("concentrated_buying", "sectors"),
    AlertType.SHORT_OVERHEAT: ("short_overheat", "overheat"),
}


@dataclass(frozen=True)
class Message:
    title: str
    summary: str
    fields: tuple[tuple[str, str], ...]
    severity: Severity
    links: tuple[tuple[str, str], ...]  # (label, url); the first is the message's main link
    footer: str


def render(alert: Alert, links: Links) -> Message:
    title, summary, fields, own_links = RENDERERS[alert.alert_type](alert.payload, links)
    home = MARKET_ALERT_HOMES.get(alert.alert_type)
    if home:
        asset_key, page = home
        own_links = [
            ("대시보드", links.page(page, alert.trading_day)),
            ("Dagster", links.asset_partition(asset_key, alert.trading_day)),
        ]
    return Message(
        title=title,
        summary=summary,
        fields=tuple(fields),
        severity=alert.severity,
        links=tuple(own_links),
        footer=f"kis-intel · {alert.alert_type} · {alert.trading_day.isoformat()}",
    )


Rendered = tuple[str, str, list[tuple[str, str]], list[tuple[str, str]]]


def _stock(payload: Mapping[str, Any]) -> str:
    name = payload.get("name")
    return f"{name} ({payload['symbol']})" if name else str(payload["symbol"])


def _number(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return MISSING
    return f"{float(value):,.{digits}f}{unit}"


def _eok(value: Any) -> str:
    """KRW in 억원, the unit Korean market reports use for flows."""
    return MISSING if value is None else f"{int(value) / KRW_PER_EOK:,.1f}억원"


def _day(value: Any) -> str:
    return MISSING if not value else str(value)


def _short_overheat(payload: Mapping[str, Any], links: Links) -> Rendered:
    rule = int(payload["rule_type"])
    ban = (
        f"{payload['ban_start']} ~ {payload['ban_date']} ({payload['ban_days']}일)"
        if payload.get("ban_start")
        else "다음 거래일 (미확정)"
    )
    fields = [
        ("유형", OVERHEAT_RULES.get(rule, str(rule))),
        ("시장", str(payload.get("market") or MISSING)),
        ("주가 등락률", _number(payload.get("price_change_pct"), "%")),
        ("공매도 비중", _number(payload.get("short_ratio"), "%")),
        ("공매도 증가 배율", _number(payload.get("short_value_multiple"), "배")),
        ("40일 평균 공매도 비중", _number(payload.get("short_ratio_40d"), "%")),
        ("공매도 금지", ban),
    ]
    summary = f"{payload.get('market', '')} 공매도 과열종목 지정 (유형 {rule}): 공매도 금지 {ban}"
    return f"공매도 과열종목 지정 — {_stock(payload)}", summary.strip(), fields, []


def _concentrated_buying(payload: Mapping[str, Any], links: Links) -> Rendered:
    investor = INVESTOR_NAMES.get(payload["investor"], payload["investor"])
    fields = [
        ("투자자", investor),
        ("5일 순매수", _eok(payload.get("net_value_5d"))),
        ("시가총액 대비", _number(payload.get("pct_of_market_cap"), "%")),
        ("z-score", _number(payload.get("zscore"))),
        ("연속 순매수일", f"{payload.get('consecutive_days', MISSING)}일"),
    ]
    summary = str(payload.get("reason") or f"{investor} 5일 순매수 {_eok(payload.get('net_value_5d'))}")
    return f"{investor} 집중 매수 — {_stock(payload)}", summary, fields, []


def _rotation_transition(payload: Mapping[str, Any], links: Links) -> Rendered:
    kind = TRANSITION_KINDS.get(payload["kind"], payload["kind"])
    sector = f"{payload.get('sector_name') or payload['sector_code']} ({payload['sector_code']})"
    change = f"{payload['from_state']} → {payload['to_state']}"
    fields = [
        (kind, change),
        ("현재 신호", str(payload.get("signal") or MISSING)),
        ("신호 점수", _number(payload.get("score"), digits=4)),
        ("RRG 사분면", str(payload.get("quadrant") or MISSING)),
        (
            "RS-Ratio / RS-Momentum",
            f"{_number(payload.get('rs_ratio'))} / {_number(payload.get('rs_momentum'))}",
        ),
    ]
    summary = str(payload.get("reason") or f"{kind} 전환 {change}")
    return f"섹터 {kind} 전환 — {sector}: {change}", summary, fields, []


def _asset_check_failure(payload: Mapping[str, Any], links: Links) -> Rendered:
    asset = "/".join(payload["asset_path"])
    fields = [
        ("자산", asset),
        ("검사", payload["check_name"]),
        ("심각도", payload["severity"]),
        ("차단 (blocking)", "예" if payload.get("blocking") else "아니오"),
        ("파티션", _day(payload.get("partition"))),
    ]
    metadata = payload.get("metadata") or {}
    for key in list(metadata)[:MAX_METADATA_FIELDS]:
        fields.append((key, json.dumps(metadata[key], ensure_ascii=False, default=str)))
    summary = payload.get("description") or f"asset check {payload['check_name']} on {asset} did not pass"
    own_links = [("Dagster check", links.asset_check(list(payload["asset_path"]), payload["check_name"]))]
    if payload.get("partition"):  # the failing day's partition page: that day's checks and materialization
        partition_day = date.fromisoformat(payload["partition"])
        own_links.append(("Dagster partition", links.asset_partition(asset, partition_day)))
    own_links.append(("Dagster run", links.run(payload["run_id"])))
    title = f"Asset check 실패 [{payload['severity']}] — {asset} · {payload['check_name']}"
    return title, str(summary), fields, own_links


def _run_failure(payload: Mapping[str, Any], links: Links) -> Rendered:
    fields = [
        ("job", payload["job_name"]),
        ("run", payload["run_id"]),
        ("파티션", _day(payload.get("partition"))),
        ("자산", ", ".join(payload.get("asset_keys") or []) or MISSING),
    ]
    summary = str(payload.get("error") or "run failed")
    return (
        f"Run 실패 — {payload['job_name']}",
        summary,
        fields,
        [("Dagster run", links.run(payload["run_id"]))],
    )


RENDERERS: dict[AlertType, Callable[[Mapping[str, Any], Links], Rendered]] = {
    AlertType.SHORT_OVERHEAT: _short_overheat,
    AlertType.CONCENTRATED_BUYING: _concentrated_buying,
    AlertType.ROTATION_TRANSITION: _rotation_transition,
    AlertType.ASSET_CHECK_FAILURE: _asset_check_failure,
    AlertType.RUN_FAILURE: _run_failure,
}
