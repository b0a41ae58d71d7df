"""`investor_flows_agree_with_krx`: KIS's and KRX's per-stock investor flows agree, day by day.

Wherever investor_trends has a KIS row (`source = 'KIS'`) and krx_investor_flows has rows for the same
stock-day, every group both sources report is compared: the net quantity (shares) must be equal, and
the net value (KRW) within the rounding of KIS, which sends each group's buying and selling in 백만원
(KRW million, half a million either way each): 1,000,000 KRW per KRX investor type summed into the group
(foreign = 외국인 + 기타외국인: 2; institution = 기관합계, which KIS may sum from its seven rounded
sub-groups: 7; every other group 1). Mismatches are listed with symbol and group.

Under the KRX fast path investor_trends holds KIS rows only for the run's KIS sample (fast_path.py), so
the check still compares real data from both sources. A day with KRX rows but no stock from both sources
fails too: there was nothing to reconcile. It reads PostgreSQL only, so it runs after krx_investor_flows
in its run (and after investor_trends when both are in one) or on its own, without fetching again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import psycopg
from psycopg import sql

from kis_intel_assets.defs.krx.fast_path import KRX_GROUPS
from kis_intel_assets.defs.partition_checks import DailyCheck, build_daily_checks
from kis_intel_assets.investor_groups import INSTITUTION_SUBGROUPS, flow_column

CHECK_NAME = "investor_flows_agree_with_krx"
KRW_PER_ROUNDED_TYPE = 1_000_000
KRX_TYPES_IN_GROUP = {"foreign": 2, "institution": len(INSTITUTION_SUBGROUPS)}
MISMATCHES_SHOWN = 20


def value_tolerance(group: str) -> int:
    return KRX_TYPES_IN_GROUP.get(group, 1) * KRW_PER_ROUNDED_TYPE


@dataclass(frozen=True)
class FlowsDay:
    """One day's comparison: stock-days and (stock, group) pairs both sources have, and what differs."""

    stocks: int
    pairs: int
    mismatch_count: int
    mismatches: tuple[dict[str, object], ...]


def _pairs() -> sql.Composed:
    rows = sql.SQL(", ").join(
        sql.SQL("({}, i.{}, i.{}, {})").format(
            sql.Literal(group),
            sql.Identifier(flow_column(group, "net", "qty")),
            sql.Identifier(flow_column(group, "net", "value")),
            sql.Literal(value_tolerance(group)),
        )
        for group in KRX_GROUPS
    )
    return sql.SQL(
        """SELECT k.time AS day, k.symbol, k."group", k.net AS krx_net, v.kis_net,
                  k.net_value AS krx_net_value, v.kis_net_value, v.tolerance
             FROM krx_investor_flows k
             JOIN investor_trends i ON i.symbol = k.symbol AND i.time = k.time AND i.source = 'KIS'
             JOIN LATERAL (VALUES {}) AS v(grp, kis_net, kis_net_value, tolerance) ON v.grp = k."group"
            WHERE k.time = ANY(%s)"""
    ).format(rows)


def measure_agreement(conn: psycopg.Connection, days: Sequence[date]) -> Mapping[date, FlowsDay]:
    wanted = (list(days),)
    counts = {
        day: (stocks, pairs)
        for day, stocks, pairs in conn.execute(
            sql.SQL("WITH p AS ({}) SELECT day, count(DISTINCT symbol), count(*) FROM p GROUP BY day").format(
                _pairs()
            ),
            wanted,
        ).fetchall()
    }
    differing: dict[date, list[dict[str, object]]] = {}
    for day, symbol, group, krx_net, kis_net, krx_value, kis_value in conn.execute(
        sql.SQL(
            """WITH p AS ({}) SELECT day, symbol, "group", krx_net, kis_net, krx_net_value, kis_net_value
                 FROM p
                WHERE kis_net IS DISTINCT FROM krx_net OR kis_net_value IS NULL
                   OR abs(kis_net_value - krx_net_value) > tolerance
                ORDER BY day, symbol, "group" """
        ).format(_pairs()),
        wanted,
    ).fetchall():
        differing.setdefault(day, []).append(
            {
                "symbol": symbol,
                "group": group,
                "kis_net": kis_net,
                "krx_net": krx_net,
                "kis_net_value": kis_value,
                "krx_net_value": krx_value,
            }
        )
    return {
        day: FlowsDay(
            *counts.get(day, (0, 0)),
            len(differing.get(day, [])),
            tuple(differing.get(day, [])[:MISMATCHES_SHOWN]),
        )
        for day in days
    }


def _agree(day: FlowsDay) -> tuple[bool, Mapping[str, object]]:
    return day.stocks > 0 and day.mismatch_count == 0, {
        "stocks_compared": day.stocks,
        "pairs_compared": day.pairs,
        "mismatch_count": day.mismatch_count,
        "mismatches": dg.MetadataValue.json(list(day.mismatches)),
        "value_tolerance_krw": dg.MetadataValue.json({g: value_tolerance(g) for g in KRX_GROUPS}),
    }


AGREEMENT = DailyCheck(
    CHECK_NAME,
    "KIS and KRX agree per stock and investor group where both have the day: net shares exactly, net KRW "
    "within KIS's 백만원 rounding (1,000,000 per KRX type in the group); mismatches list symbol and group",
    dg.AssetCheckSeverity.WARN,
    _agree,
)

krx_checks = [
    build_daily_checks(
        "krx_investor_flows",
        [AGREEMENT],
        measure_agreement,
        "krx_investor_flows_checks",
        additional_deps=["investor_trends"],
    )
]
