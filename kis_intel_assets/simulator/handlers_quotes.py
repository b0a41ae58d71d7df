"""Endpoints other tools call on the same app key (docs/kis_protocol.md §13): product info (CTPF1604R), daily
prices (FHKST01010400), minute bars of today (FHKST03010200) and of a past day (FHKST03010230), order book and
expected execution (FHKST01010200), recent executions (FHKST01010300) and the volume ranking (FHPST01710000).
The product does not use them; they exist so a user's other tools see KIS-shaped answers (field sets:
documented.py).

Minute bars are derived from the day's OHLCV (simulator choice): a seeded Brownian bridge from open to
close that touches the day's high and low, on the tick grid, with a U-shaped volume profile that sums to
the day's volume. The order book is seeded around the last price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kis_intel_assets.markets import common_stock_isin
from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.encode import change_fields, num, percent, rate, ymd
from kis_intel_assets.simulator.handlers_base import MARKET_DIV_CODES, Query, Reply, load_series, service
from kis_intel_assets.simulator.handlers_flows import largest_with_data
from kis_intel_assets.simulator.handlers_stock import (
    bar_fields,
    fundamentals,
    period_bars,
    position_at,
    stock_ohlcv,
)
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.series import SymbolSeries
from kis_intel_assets.simulator.ticks import round_to_tick, tick_size

MINUTES = 391  # 09:00 .. 15:30
TODAY_BARS = 30  # FHKST03010200: 30 bars per call (official sample docstring)
PAST_DAY_BARS = 120  # FHKST03010230: 120 bars per call
BOOK_LEVELS = 10
RANK_ROWS = 30


@dataclass(frozen=True)
class MinuteBars:
    hours: list[str]  # HHMMSS per minute
    close: np.ndarray
    high: np.ndarray
    low: np.ndarray
    open: np.ndarray
    volume: np.ndarray
    value: np.ndarray  # cumulative trading value up to each minute


def minute_bars(model: MarketModel, series: SymbolSeries, p: int) -> MinuteBars:
    pr = series.prices
    rng = np.random.default_rng(
        np.random.SeedSequence([model.config.seed, 30, model.position(series.symbol), p])
    )
    o, c, h, lo = (float(pr.open[p]), float(pr.close[p]), float(pr.high[p]), float(pr.low[p]))
    steps = np.cumsum(rng.normal(0, 1, MINUTES))
    bridge = steps - np.linspace(0, 1, MINUTES) * steps[-1]
    path = o + (c - o) * np.linspace(0, 1, MINUTES) + bridge * (h - lo) / (4 * max(np.ptp(bridge), 1e-9))
    path[rng.integers(1, MINUTES - 1)], path[rng.integers(1, MINUTES - 1)] = h, lo
    close = np.clip(round_to_tick(path), lo, h)
    close[0], close[-1] = o, c
    opens = np.concatenate([[o], close[:-1]])
    weights = 1.0 + 2.0 * (np.linspace(-1, 1, MINUTES) ** 2) + rng.uniform(0, 0.5, MINUTES)
    volume = np.floor(weights / weights.sum() * int(pr.volume[p])).astype(np.int64)
    volume[-1] += int(pr.volume[p]) - int(volume.sum())
    value = np.cumsum(volume * close).astype(np.int64)
    hours = [f"{9 + (m // 60):02d}{m % 60:02d}00" for m in range(MINUTES)]
    return MinuteBars(hours, close, np.maximum(opens, close), np.minimum(opens, close), opens, volume, value)


def _minute_index(query: Query) -> int:
    hour = query.text("FID_INPUT_HOUR_1", "153000")
    if len(hour) != 6 or not hour.isdigit():
        raise errors.bad_param("FID_INPUT_HOUR_1", f"must be HHMMSS, got {hour!r}")
    minutes = (int(hour[:2]) - 9) * 60 + int(hour[2:4])
    return min(max(minutes, 0), MINUTES - 1)


def _chart_head(model: MarketModel, series: SymbolSeries, p: int) -> dict[str, object]:
    pr = series.prices
    return {
        "output1": {
            **change_fields(int(pr.close[p]), int(pr.previous_close[p])),
            "stck_prdy_clpr": num(pr.previous_close[p]),
            "acml_vol": num(pr.volume[p]),
            "acml_tr_pbmn": num(pr.value[p]),
            "hts_kor_isnm": model.universe.names[model.position(series.symbol)],
            "stck_prpr": num(pr.close[p]),
        }
    }


def _minute_reply(model: MarketModel, series: SymbolSeries, p: int, last: int, count: int) -> Reply:
    bars = minute_bars(model, series, p)
    day = ymd(series.days[p])

    def encode(minutes: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "stck_bsop_date": day,
                "stck_cntg_hour": bars.hours[m],
                "stck_prpr": num(bars.close[m]),
                "stck_oprc": num(bars.open[m]),
                "stck_hgpr": num(bars.high[m]),
                "stck_lwpr": num(bars.low[m]),
                "cntg_vol": num(bars.volume[m]),
                "acml_tr_pbmn": num(bars.value[m]),
            }
            for m in minutes
        ]

    minutes = list(range(last, max(-1, last - count), -1))
    return Reply(_chart_head(model, series, p), "output2", minutes, encode, symbol=series.symbol)


@service("FHKST03010200", "quotations/inquire-time-itemchartprice", real_only=False)
def time_item_chart(model: MarketModel, query: Query) -> Reply:
    """Today's (the latest day's) minute bars: 30 ending at FID_INPUT_HOUR_1, newest first."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, model.latest_day())
    return _minute_reply(model, series, p, _minute_index(query), TODAY_BARS)


@service("FHKST03010230", "quotations/inquire-time-dailychartprice", real_only=True)
def time_daily_chart(model: MarketModel, query: Query) -> Reply:
    """A past day's minute bars: 120 ending at FID_INPUT_HOUR_1 of FID_INPUT_DATE_1, newest first."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, min(query.date("FID_INPUT_DATE_1", model.latest_day()), model.latest_day()))
    return _minute_reply(model, series, p, _minute_index(query), PAST_DAY_BARS)


@service("FHKST01010300", "quotations/inquire-ccnl", real_only=False)
def inquire_ccnl(model: MarketModel, query: Query) -> Reply:
    """The latest 30 executions (one per minute here); tday_rltv 체결강도 = up-tick / down-tick volume."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, model.latest_day())
    bars = minute_bars(model, series, p)
    previous = int(series.prices.previous_close[p])
    moves = np.diff(bars.close, prepend=bars.open[0])
    up = np.cumsum(np.where(moves > 0, bars.volume, 0))
    down = np.cumsum(np.where(moves < 0, bars.volume, 0))

    def encode(minutes: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "stck_cntg_hour": bars.hours[m],
                "stck_prpr": num(bars.close[m]),
                **change_fields(int(bars.close[m]), previous),
                "cntg_vol": num(bars.volume[m]),
                "tday_rltv": rate(percent(int(up[m]), int(down[m]))),
            }
            for m in minutes
        ]

    return Reply({}, "output", list(range(MINUTES - 1, MINUTES - 1 - TODAY_BARS, -1)), encode)


@service("FHKST01010200", "quotations/inquire-asking-price-exp-ccn", real_only=False)
def asking_price(model: MarketModel, query: Query) -> Reply:
    """Ten ask and bid levels one tick apart around the last price (output1) and the expected execution
    (output2; after the close it equals the close)."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, model.latest_day())
    pr = series.prices
    close = int(pr.close[p])
    tick = int(tick_size(np.array([close]))[0])
    rng = np.random.default_rng(
        np.random.SeedSequence([model.config.seed, 31, model.position(series.symbol), p])
    )
    asks, bids = rng.integers(1, 5_000, BOOK_LEVELS), rng.integers(1, 5_000, BOOK_LEVELS)
    book: dict[str, str] = {"aspr_acpt_hour": "153000"}
    for level in range(1, BOOK_LEVELS + 1):
        book[f"askp{level}"] = num(close + level * tick)
        book[f"bidp{level}"] = num(close - (level - 1) * tick)
        book[f"askp_rsqn{level}"] = num(asks[level - 1])
        book[f"bidp_rsqn{level}"] = num(bids[level - 1])
        book[f"askp_rsqn_icdc{level}"] = "0"
        book[f"bidp_rsqn_icdc{level}"] = "0"
    book.update(
        total_askp_rsqn=num(asks.sum()),
        total_bidp_rsqn=num(bids.sum()),
        total_askp_rsqn_icdc="0",
        total_bidp_rsqn_icdc="0",
        ntby_aspr_rsqn=num(bids.sum() - asks.sum()),
        new_mkop_cls_code="00",
    )
    change = change_fields(close, int(pr.previous_close[p]))
    expected = {
        "antc_mkop_cls_code": "311",
        "stck_prpr": num(close),
        "stck_oprc": num(pr.open[p]),
        "stck_hgpr": num(pr.high[p]),
        "stck_lwpr": num(pr.low[p]),
        "stck_sdpr": num(pr.previous_close[p]),
        "antc_cnpr": num(close),
        "antc_cntg_vrss_sign": change["prdy_vrss_sign"],
        "antc_cntg_vrss": change["prdy_vrss"],
        "antc_cntg_prdy_ctrt": change["prdy_ctrt"],
        "antc_vol": "0",
        "stck_shrn_iscd": series.symbol,
        "vi_cls_code": "N",
    }
    return Reply({"output1": book, "output2": expected}, symbol=series.symbol)


@service("FHKST01010400", "quotations/inquire-daily-price", real_only=False)
def inquire_daily_price(model: MarketModel, query: Query) -> Reply:
    """The latest 30 days, weeks or months (FID_PERIOD_DIV_CODE D/W/M), newest first."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    period = query.choice("FID_PERIOD_DIV_CODE", ("D", "W", "M"), "D")
    query.choice("FID_ORG_ADJ_PRC", ("0", "1"), "1")
    series = load_series(model, query)
    last = position_at(series, model.latest_day())
    bars = period_bars(series.days, stock_ohlcv(series), np.arange(0, last + 1), period)
    bars = bars[: model.config.rows_per_call("FHKST01010400")]
    foreign_share = fundamentals(model, series.symbol)["foreign_share"]

    def encode(rows: Sequence[int]) -> list[dict[str, str]]:
        out = []
        for k in rows:
            bar = bars[k]
            volume_before = int(bars[k + 1]["volume"]) if k + 1 < len(bars) else 0
            out.append(
                {
                    **bar_fields(bar),
                    "prdy_vrss_vol_rate": rate(percent(int(bar["volume"]), volume_before)),
                    **change_fields(int(bar["close"]), int(bar["previous"])),
                    "hts_frgn_ehrt": rate(foreign_share * 100),
                    "flng_cls_code": "00",
                    "acml_prtt_rate": "0.00",
                }
            )
        return out

    return Reply({}, "output", list(range(len(bars))), encode, symbol=series.symbol)


@service("CTPF1604R", "quotations/search-info", real_only=False)
def search_info(model: MarketModel, query: Query) -> Reply:
    """상품기본조회 (python-kis calls it first): the standard code and first listing day of a stock."""
    query.choice("PRDT_TYPE_CD", ("300",))
    series = load_series(model, query, "PDNO")
    output = {
        "pdno": series.symbol,
        "prdt_type_cd": "300",
        "std_pdno": common_stock_isin(series.symbol),
        "shtn_pdno": series.symbol,
        "prdt_clsf_cd": "101210",
        "frst_erlm_dt": ymd(series.days[0]),
    }
    return Reply({"output": output}, symbol=series.symbol)


@service("FHPST01710000", "quotations/volume-rank", real_only=True)
def volume_rank(model: MarketModel, query: Query) -> Reply:
    """거래량순위 of the latest day over the largest stocks of the scope (0000 all, 0001 KOSPI, 1001
    KOSDAQ)."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    query.choice("FID_COND_SCR_DIV_CODE", ("20171",))
    scope = query.choice("FID_INPUT_ISCD", ("0000", "0001", "1001"), "0000")
    u = model.universe
    members = np.arange(len(u))
    if scope != "0000":
        members = np.flatnonzero(u.markets == ("KOSPI" if scope == "0001" else "KOSDAQ"))
    ranked = sorted(
        (-int(series.prices.volume[p]), symbol, p)
        for symbol, series, p in largest_with_data(model, members)
        if p
    )

    def encode(rows: Sequence[int]) -> list[dict[str, str]]:
        out = []
        for k in rows:
            _, symbol, p = ranked[k]
            series = model.series(symbol)
            pr, shares = series.prices, int(u.listed_shares[model.position(symbol)])
            out.append(
                {
                    "hts_kor_isnm": u.names[model.position(symbol)],
                    "mksc_shrn_iscd": symbol,
                    "data_rank": str(k + 1),
                    "stck_prpr": num(pr.close[p]),
                    **change_fields(int(pr.close[p]), int(pr.previous_close[p])),
                    "acml_vol": num(pr.volume[p]),
                    "prdy_vol": num(pr.volume[p - 1]),
                    "lstn_stcn": num(shares),
                    "vol_inrt": rate(
                        percent(int(pr.volume[p]) - int(pr.volume[p - 1]), int(pr.volume[p - 1]))
                    ),
                    "vol_tnrt": rate(percent(int(pr.volume[p]), shares)),
                    "acml_tr_pbmn": num(pr.value[p]),
                }
            )
        return out

    return Reply({}, "output", list(range(min(RANK_ROWS, len(ranked)))), encode)
