"""Page builders: parameters in, a template name with its context and figures out (no HTTP here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
import psycopg

from kis_intel_assets.analytics.scorecard import MIN_SIGNALS_TO_JUDGE
from kis_intel_assets.analytics.sector_map import sector_map
from kis_intel_assets.pages import figures, params, queries
from kis_intel_assets.pages.formatting import INVESTOR_LABELS

NO_DATA = "no data yet — run a backfill (kis-intel demo or a Dagster backfill)"
NOT_MIGRATED = (
    "no data yet — the database has no kis-intel tables: run `kis-intel db migrate`, then a backfill "
    "(kis-intel demo or a Dagster backfill)"
)
NO_SIGNALS = (
    "no rotation signals yet — materialize the analytics assets (rotation_signal needs about 75 trading "
    "days of history)"
)
TAIL_DAYS = 10
ROTATION_VIEWS = ("signal", "price")
# What RS is measured against (sector_flow.py: market_return_pct), named on the page.
BENCHMARKS = {
    "KOSPI": "KOSPI 시장 (cap-weighted index of every stored KOSPI stock, matched pairs)",
    "KOSDAQ": "KOSDAQ 시장 (cap-weighted index of every stored KOSDAQ stock, matched pairs)",
}
STOCK_WINDOW_DAYS = 30


@dataclass
class Page:
    template: str
    title: str
    context: dict[str, object] = field(default_factory=dict)
    figures: dict[str, go.Figure] = field(default_factory=dict)


def empty_page(message: str = NO_DATA) -> Page:
    return Page("empty.html", "no data yet", {"message": message})


def link(path: str, **query: object) -> str:
    return f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"


def landing(conn: psycopg.Connection, query: Mapping[str, str]) -> Page:
    days = queries.stored_days(conn, "daily_prices")
    if not days:
        return empty_page()
    signal_days = queries.stored_days(conn, "rotation_signal")
    latest = days[-1]
    views = [
        ("sectors", "업종 지도 (sector map)", link("/sectors", date=latest)),
        ("overheat", "공매도 과열 (short-selling overheat)", link("/overheat", date=latest)),
        (
            "rotation",
            "업종 순환 (sector rotation)",
            link("/rotation", date=signal_days[-1]) if signal_days else "/rotation",
        ),
    ]
    return Page("landing.html", "kis-intel", {"views": views, "first": days[0], "latest": latest,
                                              "n_days": len(days)})  # fmt: skip


def sectors(conn: psycopg.Connection, query: Mapping[str, str]) -> Page:
    days = queries.stored_days(conn, "daily_prices")
    if not days:
        return empty_page()
    day = params.trading_day(query, days)
    investor = params.choice(query, "investor", params.INVESTORS, "foreign")
    stocks = queries.sector_map_stocks(conn, day)
    context: dict[str, object] = {
        "day": day, "days": days, "investor": investor, "investors": INVESTOR_LABELS,
        "investor_links": {key: link("/sectors", date=day, investor=key) for key in INVESTOR_LABELS},
    }  # fmt: skip
    page = Page("sectors.html", f"업종 지도 {day}", context)
    if stocks.empty:
        context["note"] = "no stock has a stock_master row valid on this day"
        return page
    numbers = sector_map(stocks, queries.sector_rotation_day(conn, day), investor)
    context["sectors"] = numbers.sectors.sort_values(
        "intensity_bp", ascending=False, na_position="last"
    ).to_dict("records")
    page.figures["treemap"] = figures.sector_treemap(numbers.stocks, numbers.sectors, investor, day)
    return page


def _sort_links(day: date, market: str, sort: str, order: str) -> dict[str, str]:
    links = {}
    for column in queries.OVERHEAT_SORT_COLUMNS:
        toggled = "asc" if column == sort and order == "desc" else "desc"
        links[column] = link("/overheat", date=day, market=market, sort=column, order=toggled)
    return links


def overheat_view(conn: psycopg.Connection, query: Mapping[str, str]) -> Page:
    days = queries.stored_days(conn, "daily_prices")
    if not days:
        return empty_page()
    day = params.trading_day(query, days)
    market = params.market_filter(query)
    sort = params.choice(query, "sort", queries.OVERHEAT_SORT_COLUMNS, "short_value_multiple")
    order = params.choice(query, "order", params.ORDERS, "desc")
    context: dict[str, object] = {
        "day": day, "days": days, "market": market, "sort": sort, "order": order,
        "designated": queries.designations(conn, day, market, sort, order).to_dict("records"),
        "sort_links": _sort_links(day, market, sort, order),
        "market_links": {m: link("/overheat", date=day, market=m, sort=sort, order=order)
                         for m in params.MARKET_FILTERS},
    }  # fmt: skip
    thresholds = queries.quarter_thresholds(conn, day)
    if thresholds:
        context["near"] = queries.near_designation(conn, day, market).to_dict("records")
        context["thresholds"] = thresholds
    else:
        context["near_note"] = (
            f"no closeness figures for {day}: overheat_candidates has no row for it (it needs the 40 "
            "trading days before it that the designation rule's baseline uses)"
        )
    return Page("overheat.html", f"공매도 과열 {day}", context)


def overheat_stock(conn: psycopg.Connection, symbol: str, query: Mapping[str, str]) -> Page:
    symbol = params.symbol(symbol)
    days = queries.stored_days(conn, "daily_prices")
    if not days:
        return empty_page()
    day = params.trading_day(query, days)
    known = queries.stock_name(conn, symbol, day)
    if known is None:
        raise params.BadParameter("symbol", symbol, f"no stock_master row on or before {day}")
    name, market = known
    index = days.index(day)
    first, last = days[max(0, index - STOCK_WINDOW_DAYS)], days[min(len(days) - 1, index + STOCK_WINDOW_DAYS)]
    history = queries.stock_short_history(conn, symbol, first, last)
    designated = queries.stock_designations(conn, symbol, first, last)
    context = {"day": day, "symbol": symbol, "name": name, "market": market,
               "designated": designated.to_dict("records"), "back": link("/overheat", date=day)}  # fmt: skip
    page = Page("overheat_stock.html", f"{name} ({symbol})", context)
    if history.empty:
        context["note"] = f"{symbol} has no daily_prices rows between {first} and {last}"
    else:
        page.figures["stock"] = figures.overheat_stock_chart(history, designated, name, symbol, day)
    return page


def rotation(conn: psycopg.Connection, query: Mapping[str, str]) -> Page:
    """RRG, signals and scorecard of a day; `sector` (comma-separated codes) filters, `view` picks the
    stored signal or the price-only one."""
    days = queries.stored_days(conn, "rotation_signal")
    if not days:
        return empty_page(NO_SIGNALS if queries.stored_days(conn, "daily_prices") else NO_DATA)
    day = params.trading_day(query, days)
    view = params.choice(query, "view", ROTATION_VIEWS, ROTATION_VIEWS[0])
    index = days.index(day)
    table = queries.rotation_day(conn, day)
    selected = _selected_sectors(query, table)
    if view == "price":
        table = table.assign(signal=table["price_signal"], score=table["price_score"])
    shown = table[table["sector_code"].isin(selected)] if selected else table
    tails = queries.rotation_tails(conn, days[max(0, index - TAIL_DAYS + 1) : index + 1])
    tails = tails[tails["sector_code"].isin(shown["sector_code"])]
    labels = table["sector_name"] + (" (" + table["market"] + ")").fillna("")
    names = dict(zip(table["sector_code"], labels, strict=True))
    movers = shown.reindex(shown["score"].astype(float).abs().sort_values(ascending=False).index)
    card = queries.scorecard(conn, day)
    keep = {"view": view, **({"sector": ",".join(selected)} if selected else {})}
    page = Page(
        "rotation.html",
        f"업종 순환 {day}",
        {
            "day": day,
            "days": days,
            "signals": shown.to_dict("records"),
            "scorecard": card.to_dict("records"),
            "sectors": table[["sector_code", "sector_name", "market"]].to_dict("records"),
            "selected": selected,
            "view": view,
            "keep": keep,
            "view_links": {
                v: link("/rotation", date=day, view=v, sector=keep.get("sector")) for v in ROTATION_VIEWS
            },
            "min_signals": MIN_SIGNALS_TO_JUDGE,
            "benchmarks": BENCHMARKS,
        },
    )
    if not tails.empty:
        page.figures["rrg"] = figures.rotation_graph(
            tails, names, day, priority=movers["sector_code"].tolist()
        )
    if not card.empty:
        page.figures["scorecard"] = figures.scorecard_chart(card)
    return page


def _selected_sectors(query: Mapping[str, str], table: pd.DataFrame) -> list[str]:
    """The `sector` filter: comma-separated sector codes of the day, in the given order."""
    raw = query.get("sector", "")
    codes = [code.strip() for code in raw.split(",") if code.strip()]
    unknown = [code for code in codes if code not in set(table["sector_code"])]
    if unknown:
        raise params.BadParameter("sector", raw, f"no signal for sector {unknown[0]} on this day")
    return list(dict.fromkeys(codes))
