"""Source rows written straight into the analytics tables, as the analytics assets would leave them."""

from __future__ import annotations

from datetime import date

from kis_intel_assets.storage import connect

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 4), date(2025, 6, 5)


def add_stock(
    url: str, symbol: str, name: str, valid_from: date = date(2025, 1, 2), sector: str = "G25"
) -> None:
    sector_names = {"G25": "반도체", "G45": "IT 서비스"}
    with connect(url) as conn:
        conn.execute(
            """INSERT INTO stock_master (symbol, valid_from, name, market, sector_code, sector_name,
                                         listed_shares, last_seen)
               VALUES (%s, %s, %s, 'KOSPI', %s, %s, 1000000, %s)""",
            (symbol, valid_from, name, sector, sector_names[sector], D3),
        )


def add_overheat(url: str, day: date, symbol: str, rule_type: int = 4) -> None:
    with connect(url) as conn:
        conn.execute(
            """INSERT INTO short_overheat (time, symbol, market, rule_type, price_change_pct, short_ratio,
                   short_value_multiple, avg_short_value_40d, short_ratio_40d, traded_days_40d,
                   quarter_ratio_threshold, ban_start, ban_date, ban_days)
               VALUES (%s, %s, 'KOSPI', %s, -3.45, 35.2, 2.81, 1500000000, 4.1, 40, 12.6,
                       %s::date + 1, %s::date + 1, 1)""",
            (day, symbol, rule_type, day, day),
        )


def add_concentrated(url: str, day: date, symbol: str, investor: str = "foreign") -> None:
    with connect(url) as conn:
        conn.execute(
            """INSERT INTO concentrated_buying (time, symbol, investor, net_value_5d, pct_of_market_cap,
                   zscore, consecutive_days, reason)
               VALUES (%s, %s, %s, 123456789012, 0.42, 3.87, 5, '5일 연속 순매수, 시총 대비 0.42%%')""",
            (day, symbol, investor),
        )


def add_rotation(url: str, day: date, sector: str, *, with_flow_row: bool = True) -> None:
    """Signal NEUTRAL → INFLOW and quadrant Improving → Leading on one day, with the day's signal (and
    sector_rotation row)."""
    with connect(url) as conn:
        if with_flow_row:
            conn.execute(
                "INSERT INTO sector_rotation (time, sector_code, sector_name) VALUES (%s, %s, %s)",
                (day, sector, "반도체 (flow)"),
            )
        conn.execute(
            """INSERT INTO rotation_signal (time, sector_code, signal, score, reason, rs_ratio, rs_momentum,
                   quadrant)
               VALUES (%s, %s, 'INFLOW', 1.2345, '외국인·기관 동반 유입, RS 상승', 101.5, 100.8,
                       'Leading')""",
            (day, sector),
        )
        conn.execute(
            """INSERT INTO rotation_transition (time, sector_code, kind, from_state, to_state)
               VALUES (%(day)s, %(sector)s, 'quadrant', 'Improving', 'Leading'),
                      (%(day)s, %(sector)s, 'signal', 'NEUTRAL', 'INFLOW')""",
            {"day": day, "sector": sector},
        )
