"""Program-trading endpoints: per stock intraday (FHPPG04650101) and daily (FHPPG04650201), and per market
daily (FHPPG04600001). Program values are KRW (docs/kis_protocol.md §2, Units)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kis_intel_assets.krx_calendar import months_before
from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.documented import DOCUMENTED
from kis_intel_assets.simulator.encode import change_fields, num, percent, rate, ymd
from kis_intel_assets.simulator.handlers_base import (
    MARKET_DIV_CODES,
    Query,
    Reply,
    earliest,
    last_final_day,
    load_series,
    newest_first,
    no_rows,
    publication_gate,
    service,
    with_blank_today,
)
from kis_intel_assets.simulator.handlers_stock import position_at
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.ticks import round_to_tick

INTRADAY_SLOTS = tuple(
    f"{h:02d}{m:02d}00" for h in range(9, 16) for m in (0, 30) if (9, 30) <= (h, m) <= (15, 30)
)
MARKET_HISTORY_MONTHS = 8  # FHPPG04600001 spec: "8개월 이상 과거 조회 불가"
SIDES = ("seln_vol", "shnu_vol", "ntby_qty", "seln_tr_pbmn", "shnu_tr_pbmn", "ntby_tr_pbmn")
RATE_FIELDS = tuple(name for name in DOCUMENTED["FHPPG04600001"]["output"] if name.endswith("_rate"))
MARKET_INDEX = {"KOSPI": "0001", "KOSDAQ": "1001"}


def rate_source(rate_field: str) -> tuple[str, bool]:
    """The value a FHPPG04600001 `_rate` (share of the market's volume or value, simulator choice) is
    taken from, undoing KIS's spellings (`smtm`, `shun`, `whol_seln_vol_rate` without a channel), and
    whether it is a share of volume."""
    parts = rate_field.removesuffix("_rate").replace("smtm", "smtn").replace("shun", "shnu").split("_")
    if parts[1] not in ("entm", "onsl", "smtn"):
        parts.insert(1, "smtn")
    return "_".join(parts), parts[-1] in ("vol", "qty")


def program_sides(sides: np.ndarray, prefix: str) -> dict[str, str]:
    """One (buy qty, sell qty, buy value, sell value) row under `prefix`'s KIS field names."""
    buy_qty, sell_qty, buy_value, sell_value = (int(v) for v in sides)
    return {
        f"{prefix}_seln_vol": num(sell_qty),
        f"{prefix}_shnu_vol": num(buy_qty),
        f"{prefix}_ntby_qty": num(buy_qty - sell_qty),
        f"{prefix}_seln_tr_pbmn": num(sell_value),
        f"{prefix}_shnu_tr_pbmn": num(buy_value),
        f"{prefix}_ntby_tr_pbmn": num(buy_value - sell_value),
    }


@service("FHPPG04650101", "quotations/program-trade-by-stock", real_only=True)
def program_trade_by_stock(model: MarketModel, query: Query) -> Reply:
    """Cumulative intraday program totals of the latest day every 30 minutes; the 153000 row equals the
    day."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, model.latest_day())
    pr = series.prices
    fraction = np.arange(1, len(INTRADAY_SLOTS) + 1) / len(INTRADAY_SLOTS)
    path = np.clip(round_to_tick(pr.open[p] + (pr.close[p] - pr.open[p]) * fraction), pr.low[p], pr.high[p])
    path[-1] = pr.close[p]
    cumulative = np.round(np.outer(fraction, series.program[p])).astype(np.int64)
    net_qty = cumulative[:, 0] - cumulative[:, 1]
    net_value = cumulative[:, 2] - cumulative[:, 3]

    def encode(slots: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "bsop_hour": INTRADAY_SLOTS[k],
                "stck_prpr": num(path[k]),
                **change_fields(int(path[k]), int(pr.previous_close[p])),
                "acml_vol": num(round(pr.volume[p] * fraction[k])),
                **program_sides(cumulative[k], prefix="whol_smtn"),
                "whol_ntby_vol_icdc": num(net_qty[k] - (net_qty[k - 1] if k else 0)),
                "whol_ntby_tr_pbmn_icdc": num(net_value[k] - (net_value[k - 1] if k else 0)),
            }
            for k in slots
        ]

    return Reply(
        {}, "output", list(range(len(INTRADAY_SLOTS) - 1, -1, -1)), encode, paged=False, symbol=series.symbol
    )


@service("FHPPG04650201", "quotations/program-trade-by-stock-daily", real_only=True)
def program_trade_by_stock_daily(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    today = publication_gate(model, "FHPPG04650201", query.optional_date("FID_INPUT_DATE_1"))
    last = last_final_day(model, query, "FID_INPUT_DATE_1", "FHPPG04650201")
    items = newest_first(series, series.days[0], last)
    if not items:
        return no_rows(model, series.symbol, "output", has_head=False)
    pr, program = series.prices, series.program
    net_qty, net_value = program[:, 0] - program[:, 1], program[:, 2] - program[:, 3]

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "stck_bsop_date": ymd(series.days[i]),
                "stck_clpr": num(pr.close[i]),
                "acml_vol": num(pr.volume[i]),
                "acml_tr_pbmn": num(pr.value[i]),
                **change_fields(int(pr.close[i]), int(pr.previous_close[i])),
                **program_sides(program[i], prefix="whol_smtn"),
                "whol_ntby_vol_icdc": num(net_qty[i] - (net_qty[i - 1] if i else 0)),
                "whol_ntby_tr_pbmn_icdc2": num(net_value[i] - (net_value[i - 1] if i else 0)),
            }
            for i in positions
        ]

    items, served = with_blank_today(items, encode, today)
    return Reply({}, "output", items, served, paged=True, symbol=series.symbol)


@service("FHPPG04600001", "quotations/comp-program-trade-daily", real_only=True)
def comp_program_trade_daily(model: MarketModel, query: Query) -> Reply:
    """Market program trading: {arbt,nabt,whol}_{entm,onsl,smtn}; smtn = entm + onsl, whol = arbt + nabt.
    Generated per market, not summed from the per-stock series."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    market = {"K": "KOSPI", "Q": "KOSDAQ"}[query.choice("FID_MRKT_CLS_CODE", ("K", "Q"))]
    first = query.date("FID_INPUT_DATE_1", earliest(model))
    today = publication_gate(model, "FHPPG04600001", query.optional_date("FID_INPUT_DATE_2"))
    cutoff = model.cutoff("FHPPG04600001")
    asked = query.date("FID_INPUT_DATE_2", cutoff)
    if asked < first:
        raise errors.bad_param("FID_INPUT_DATE_2", f"{ymd(asked)} is before FID_INPUT_DATE_1 {ymd(first)}")
    last = min(asked, cutoff)  # a day not published yet is absent
    floor = np.datetime64(months_before(model.now_kst().date(), MARKET_HISTORY_MONTHS), "D")
    if first <= floor:
        if model.config.history_limit_form == "refuse":
            raise errors.history_limit(f"FID_INPUT_DATE_1 {ymd(first)}")
        first = floor + np.timedelta64(1, "D")
    lo, hi = int(np.searchsorted(model.days, first, "left")), int(np.searchsorted(model.days, last, "right"))
    data = market_program_components(model, market)
    totals = model.factors.index_ohlcv(MARKET_INDEX[market])

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        rows = []
        for i in positions:
            row = {"stck_bsop_date": ymd(model.days[i])}
            for kind in ("arbt", "nabt", "whol"):
                for channel in ("entm", "onsl", "smtn"):
                    row.update(program_sides(data[kind][channel][i], prefix=f"{kind}_{channel}"))
            for name in RATE_FIELDS:
                source, per_volume = rate_source(name)
                market_total = totals["volume"][i] if per_volume else totals["value"][i]
                row[name] = rate(percent(int(row[source]), market_total))
            rows.append(row)
        return rows

    items, served = with_blank_today(list(range(hi - 1, lo - 1, -1)), encode, today)
    return Reply({}, "output", items, served, paged=True)


def market_program_components(model: MarketModel, market: str) -> dict[str, dict[str, np.ndarray]]:
    """(days, 4) buy qty / sell qty / buy value / sell value per trade type and channel, totals included."""
    raw = model.factors.market_program(market)
    data: dict[str, dict[str, np.ndarray]] = {}
    for t, kind in enumerate(("arbt", "nabt")):
        entm, onsl = raw[:, t, 0, :], raw[:, t, 1, :]
        data[kind] = {"entm": entm, "onsl": onsl, "smtn": entm + onsl}
    data["whol"] = {c: data["arbt"][c] + data["nabt"][c] for c in ("entm", "onsl", "smtn")}
    return data
