"""Investor-flow endpoints: per stock (FHKST01010900, FHPTJ04160001), ranking (FHPTJ04400000) and per market
(FHPTJ04040000). Money fields (*_tr_pbmn, *_pbmn) are KRW million integers (docs/kis_protocol.md §2,
Units)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.encode import change_fields, index_change_fields, num, rate, ymd
from kis_intel_assets.simulator.groups import (
    KIS_PREFIX,
    NET_VOL_PREFIXES,
    GroupFlows,
    aggregate,
    foreign_split,
    group_flows,
)
from kis_intel_assets.simulator.handlers_base import (
    MARKET_DIV_CODES,
    Query,
    Reply,
    last_final_day,
    load_series,
    newest_first,
    no_rows,
    publication_gate,
    service,
    with_blank_today,
)
from kis_intel_assets.simulator.handlers_stock import daily_bar, last_price_head, position_at
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.sectors import SECTOR_INDEX
from kis_intel_assets.simulator.series import SymbolSeries

INVESTOR_DAILY = "FHPTJ04160001"
RANKING_ROWS = 30
RANKING_CANDIDATES = 60  # the ranking is taken over the largest listed stocks of the scope, to bound cost
TIME_BY_MARKET_CODES = {
    "999": "KOSPI",
    "KSP": "KOSPI",
    "0001": "KOSPI",
    "KSQ": "KOSDAQ",
    "1001": "KOSDAQ",
}


def largest_with_data(model: MarketModel, members: np.ndarray) -> list[tuple[str, SymbolSeries, int]]:
    """(symbol, series, position of the latest day) of the RANKING_CANDIDATES largest `members` by initial
    market cap that have traded by the latest day: rankings are taken over them to bound their cost."""
    u = model.universe
    candidates = members[np.argsort(-(u.listed_shares[members] * u.base_price[members]), kind="stable")]
    found = []
    for index in candidates[:RANKING_CANDIDATES]:
        series = model.series(str(u.symbols[index]))
        p = int(np.searchsorted(series.days, model.latest_day(), "right")) - 1
        if p >= 0:
            found.append((series.symbol, series, p))
    return found


def _net_qty_key(prefix: str) -> str:
    return f"{prefix}_ntby_vol" if prefix in NET_VOL_PREFIXES else f"{prefix}_ntby_qty"


def breakdown(flows: dict[str, GroupFlows], k: int, net_only: bool) -> dict[str, str]:
    """The §3.2 `<who>_*` fields plus frgn_reg/frgn_nreg for row k of the aggregated arrays."""
    row: dict[str, str] = {}
    for group, prefix in KIS_PREFIX.items():
        g = flows[group]
        row[_net_qty_key(prefix)] = num(g.net_qty[k])
        row[f"{prefix}_ntby_tr_pbmn"] = num(g.net_value_m[k])
        if not net_only:
            row[f"{prefix}_seln_vol"] = num(g.sell_qty[k])
            row[f"{prefix}_shnu_vol"] = num(g.buy_qty[k])
            row[f"{prefix}_seln_tr_pbmn"] = num(g.sell_value_m[k])
            row[f"{prefix}_shnu_tr_pbmn"] = num(g.buy_value_m[k])
    for label, part in zip(("frgn_reg", "frgn_nreg"), foreign_split(flows["foreign"]), strict=True):
        row[f"{label}_ntby_qty"] = num(part.net_qty[k])
        row[f"{label}_ntby_pbmn"] = num(part.net_value_m[k])
        if not net_only:
            row[f"{label}_askp_qty"] = num(part.sell_qty[k])
            row[f"{label}_askp_pbmn"] = num(part.sell_value_m[k])
            row[f"{label}_bidp_qty"] = num(part.buy_qty[k])
            row[f"{label}_bidp_pbmn"] = num(part.buy_value_m[k])
    return row


@service("FHKST01010900", "quotations/inquire-investor", real_only=False)
def inquire_investor(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    today = publication_gate(model, "FHKST01010900", None)
    finals = newest_first(series, series.days[0], model.cutoff("FHKST01010900"))
    pr = series.prices
    keys = ["stck_clpr", "prdy_vrss", "prdy_vrss_sign"] + [
        f"{p}_{suffix}"
        for suffix in ("ntby_qty", "ntby_tr_pbmn", "shnu_vol", "shnu_tr_pbmn", "seln_vol", "seln_tr_pbmn")
        for p in ("prsn", "frgn", "orgn")
    ]

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        rows = []
        for i in positions:
            flows = group_flows(series, np.array([i]))
            row = {"stck_bsop_date": ymd(series.days[i]), "stck_clpr": num(pr.close[i])}
            row.update(
                {
                    k: v
                    for k, v in change_fields(int(pr.close[i]), int(pr.previous_close[i])).items()
                    if k != "prdy_ctrt"
                }
            )
            for group in ("individual", "foreign", "institution"):
                g, prefix = flows[group], KIS_PREFIX[group]
                row.update(
                    {
                        f"{prefix}_ntby_qty": num(g.net_qty[0]),
                        f"{prefix}_ntby_tr_pbmn": num(g.net_value_m[0]),
                        f"{prefix}_shnu_vol": num(g.buy_qty[0]),
                        f"{prefix}_shnu_tr_pbmn": num(g.buy_value_m[0]),
                        f"{prefix}_seln_vol": num(g.sell_qty[0]),
                        f"{prefix}_seln_tr_pbmn": num(g.sell_value_m[0]),
                    }
                )
            rows.append({"stck_bsop_date": row.pop("stck_bsop_date"), **{k: row[k] for k in keys}})
        return rows

    items, served = with_blank_today(finals, encode, today)  # today's row is blank before the close
    return Reply(
        {},
        "output",
        items[: model.config.rows_per_call("FHKST01010900")],
        served,
        paged=False,
        symbol=series.symbol,
    )


@service("FHPTJ04160001", "quotations/investor-trade-by-stock-daily", real_only=True)
def investor_trade_by_stock_daily(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    today = publication_gate(model, INVESTOR_DAILY, query.optional_date("FID_INPUT_DATE_1"))
    last = last_final_day(model, query, "FID_INPUT_DATE_1", INVESTOR_DAILY)
    items = newest_first(series, series.days[0], last)
    if not items:
        return no_rows(model, series.symbol, "output2", has_head=True)
    p = position_at(series, last)
    market = str(model.universe.markets[model.position(series.symbol)])
    head = {"output1": {**last_price_head(series, p), "rprs_mrkt_kor_name": market}}

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        idx = np.array(positions, dtype=np.int64)
        flows = group_flows(series, idx)
        return [
            {
                **daily_bar(series, i),
                **breakdown(flows, k, net_only=False),
                "bold_yn": "N",
            }
            for k, i in enumerate(positions)
        ]

    items, served = with_blank_today(items, encode, today)
    return Reply(head, "output2", items, served, paged=True, symbol=series.symbol)


@service("FHPTJ04040000", "quotations/inquire-investor-daily-by-market", real_only=True)
def investor_daily_by_market(model: MarketModel, query: Query) -> Reply:
    """Market-level flows (not the sum of per-stock rows) with the FID_INPUT_ISCD_2 sector's index levels."""
    market = {"KSP": "KOSPI", "KSQ": "KOSDAQ"}[query.choice("FID_INPUT_ISCD_1", ("KSP", "KSQ"))]
    index_code = query.text("FID_INPUT_ISCD_2", "0001" if market == "KOSPI" else "1001")
    if index_code not in SECTOR_INDEX and index_code not in ("0001", "1001", "2001"):
        raise errors.bad_param("FID_INPUT_ISCD_2", f"unknown 업종 code {index_code!r}")
    last = last_final_day(model, query, "FID_INPUT_DATE_1")
    hi = int(np.searchsorted(model.days, last, "right"))
    items = list(range(hi - 1, -1, -1))
    qty, value = model.factors.market_flows(market)
    index = model.factors.index_ohlcv(index_code)

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        idx = np.array(positions, dtype=np.int64)
        # Market data is net only; as buys = max(net, 0) and sells = max(-net, 0) the group nets stay exact.
        flows = aggregate(
            np.maximum(qty[idx], 0),
            np.maximum(-qty[idx], 0),
            np.maximum(value[idx], 0),
            np.maximum(-value[idx], 0),
        )
        return [
            {
                "stck_bsop_date": ymd(model.days[i]),
                "bstp_nmix_prpr": rate(index["close"][i]),
                **index_change_fields(index["close"][i], index["previous"][i]),
                "bstp_nmix_oprc": rate(index["open"][i]),
                "bstp_nmix_hgpr": rate(index["high"][i]),
                "bstp_nmix_lwpr": rate(index["low"][i]),
                "stck_prdy_clpr": rate(index["previous"][i]),
                **breakdown(flows, k, net_only=True),
            }
            for k, i in enumerate(positions)
        ]

    return Reply({}, "output", items, encode, paged=True)


@service("FHPTJ04400000", "quotations/foreign-institution-total", real_only=True)
def foreign_institution_total(model: MarketModel, query: Query) -> Reply:
    """Ranking of the latest day's foreign/institution net buying (the simulator serves final, not
    provisional,
    figures) over the largest RANKING_CANDIDATES stocks of the requested scope."""
    scope = query.text("FID_INPUT_ISCD", "0000")
    by_value = query.choice("FID_DIV_CLS_CODE", ("0", "1"), "0") == "1"
    sell_side = query.choice("FID_RANK_SORT_CLS_CODE", ("0", "1"), "0") == "1"
    who = query.choice("FID_ETC_CLS_CODE", ("0", "1", "2", "3"), "0")
    u = model.universe
    if scope == "0000":
        members = np.arange(len(u))
    elif scope in ("0001", "1001"):
        members = np.flatnonzero(u.markets == ("KOSPI" if scope == "0001" else "KOSDAQ"))
    elif scope in SECTOR_INDEX:
        members = np.flatnonzero(u.initial_sector == SECTOR_INDEX[scope])
    else:
        raise errors.bad_param("FID_INPUT_ISCD", f"unknown market/업종 code {scope!r}")
    rows = []
    for symbol, series, p in largest_with_data(model, members):
        flows = group_flows(series, np.array([p]))
        chosen = {"0": ("foreign", "institution"), "1": ("foreign",), "2": ("institution",), "3": ("other",)}[
            who
        ]
        key_qty = sum(int(flows[g].net_qty[0]) for g in chosen)
        key_value = sum(int(flows[g].net_value_m[0]) for g in chosen)
        rows.append(((key_value if by_value else key_qty), key_qty, symbol, p, flows))
    rows.sort(key=lambda r: (r[0], r[2]) if sell_side else (-r[0], r[2]))

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        out = []
        for k in positions:
            _, net_qty, symbol, p, flows = rows[k]
            series = model.series(symbol)
            pr = series.prices
            row = {
                "hts_kor_isnm": u.names[model.position(symbol)],
                "mksc_shrn_iscd": symbol,
                "ntby_qty": num(net_qty),
                "stck_prpr": num(pr.close[p]),
                **change_fields(int(pr.close[p]), int(pr.previous_close[p])),
                "acml_vol": num(pr.volume[p]),
            }
            for group in (
                "foreign",
                "institution",
                "investment_trust",
                "bank",
                "insurance",
                "merchant_bank",
                "pension_fund",
                "other_organization",
                "other_corporation",
            ):
                prefix = KIS_PREFIX[group]
                row[_net_qty_key(prefix)] = num(flows[group].net_qty[0])
                row[f"{prefix}_ntby_tr_pbmn"] = num(flows[group].net_value_m[0])
            out.append(row)
        return out

    return Reply({}, "output", list(range(min(RANKING_ROWS, len(rows)))), encode, paged=False)


@service("FHPTJ04030000", "quotations/inquire-investor-time-by-market", real_only=True)
def investor_time_by_market(model: MarketModel, query: Query) -> Reply:
    """Today's (the latest day's) cumulative market flows per investor group. FID_INPUT_ISCD is the market
    (KSP/0001 KOSPI, KSQ/1001 KOSDAQ; the official example's 999 = KOSPI), FID_INPUT_ISCD_2 the 업종 (not
    split further here: simulator choice, the code tables are UNVERIFIED)."""
    code = query.text("FID_INPUT_ISCD", "999")
    if code not in TIME_BY_MARKET_CODES:
        raise errors.bad_param("FID_INPUT_ISCD", f"unknown market code {code!r}")
    query.text("FID_INPUT_ISCD_2", "S001")
    qty, value = model.factors.market_flows(TIME_BY_MARKET_CODES[code])
    day = np.array([int(np.searchsorted(model.days, model.latest_day(), "right")) - 1])
    flows = aggregate(
        np.maximum(qty[day], 0),
        np.maximum(-qty[day], 0),
        np.maximum(value[day], 0),
        np.maximum(-value[day], 0),
    )

    def encode(rows: Sequence[int]) -> list[dict[str, str]]:
        return [breakdown(flows, k, net_only=False) for k in rows]

    return Reply({}, "output", [0], encode)
