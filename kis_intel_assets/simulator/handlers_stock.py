"""Price, quote, stock-info and short-selling endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np

from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.encode import change_fields, limits, num, percent, rate, ymd
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
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.sectors import SECTORS, SIZE_CLASS
from kis_intel_assets.simulator.series import SymbolSeries
from kis_intel_assets.simulator.ticks import round_to_tick, tick_size

PAR_VALUE = 500
DAILY_CHART = "FHKST03010100"


def _growing_day(
    model: MarketModel, series: SymbolSeries, first: np.datetime64, last: np.datetime64
) -> int | None:
    """Position of today's still-growing candle when the clock is inside today's session, else None."""
    today = model.pending_today(DAILY_CHART)
    if model.publication(DAILY_CHART).before != "partial" or today is None or model.session_fraction() <= 0:
        return None
    if not first <= np.datetime64(today, "D") <= last:
        return None
    lo, hi = series.span(np.datetime64(today, "D"), np.datetime64(today, "D"))
    return lo if hi > lo else None


def _growing_ohlcv(series: SymbolSeries, i: int, fraction: float) -> dict[str, np.ndarray]:
    """The daily arrays with day i as seen `fraction` into the session: the close walks from the open,
    volume and value accrue."""
    pr = series.prices
    ohlcv = {name: values.astype(np.float64) for name, values in stock_ohlcv(series).items()}
    close = float(round_to_tick(np.array([pr.open[i] + (pr.close[i] - pr.open[i]) * fraction]))[0])
    close = min(max(close, float(pr.low[i])), float(pr.high[i]))
    ohlcv["close"][i] = close
    ohlcv["high"][i] = max(float(pr.open[i]), close)
    ohlcv["low"][i] = min(float(pr.open[i]), close)
    ohlcv["volume"][i] = round(pr.volume[i] * fraction)
    ohlcv["value"][i] = round(pr.value[i] * fraction)
    return ohlcv


def position_at(series: SymbolSeries, day: np.datetime64) -> int:
    """Index of the last day <= `day` in the series; no data if the symbol had not traded yet."""
    position = int(np.searchsorted(series.days, day, "right")) - 1
    if position < 0:
        raise errors.no_data(f"{series.symbol} has no trading day on or before {ymd(day)}")
    return position


def daily_bar(series: SymbolSeries, i: int) -> dict[str, str]:
    """Date, OHLCV and change of day i: every daily endpoint repeats this block under the same names."""
    pr = series.prices
    return {
        "stck_bsop_date": ymd(series.days[i]),
        "stck_clpr": num(pr.close[i]),
        "stck_oprc": num(pr.open[i]),
        "stck_hgpr": num(pr.high[i]),
        "stck_lwpr": num(pr.low[i]),
        "acml_vol": num(pr.volume[i]),
        "acml_tr_pbmn": num(pr.value[i]),
        **change_fields(int(pr.close[i]), int(pr.previous_close[i])),
    }


def last_price_head(series: SymbolSeries, p: int) -> dict[str, str]:
    """The output1 price block of the per-stock daily flow endpoints, as of day p."""
    pr = series.prices
    return {
        "stck_prpr": num(pr.close[p]),
        **change_fields(int(pr.close[p]), int(pr.previous_close[p])),
        "acml_vol": num(pr.volume[p]),
        "prdy_vol": num(pr.volume[p - 1]) if p > 0 else "",
    }


def fundamentals(model: MarketModel, symbol: str) -> dict[str, float]:
    """Static per-symbol PER/PBR/foreign ownership, seeded per symbol (request order never matters)."""
    index = model.position(symbol)
    rng = np.random.default_rng(np.random.SeedSequence([model.config.seed, 20, index]))
    base = float(model.universe.base_price[index])
    per, pbr = rng.uniform(5, 40), rng.uniform(0.3, 4.0)
    foreign_share = (
        rng.uniform(0.2, 0.55) if model.universe.markets[index] == "KOSPI" else rng.uniform(0.01, 0.2)
    )
    return {"eps": round(base / per), "bps": round(base / pbr), "foreign_share": foreign_share}


def quote_fields(model: MarketModel, series: SymbolSeries, p: int) -> dict[str, str]:
    """Current-quote fields shared by the quote objects (as of day position p)."""
    prices = series.prices
    lower, upper = limits(int(prices.previous_close[p]))
    facts = fundamentals(model, series.symbol)
    shares = int(model.universe.listed_shares[model.position(series.symbol)])
    close = int(prices.close[p])
    return {
        "stck_shrn_iscd": series.symbol,
        "stck_prpr": num(close),
        **change_fields(close, int(prices.previous_close[p])),
        "acml_vol": num(prices.volume[p]),
        "acml_tr_pbmn": num(prices.value[p]),
        "stck_oprc": num(prices.open[p]),
        "stck_hgpr": num(prices.high[p]),
        "stck_lwpr": num(prices.low[p]),
        "stck_mxpr": num(upper),
        "stck_llam": num(lower),
        "prdy_vol": num(prices.volume[p - 1]) if p > 0 else "",
        "lstn_stcn": num(shares),
        "hts_avls": num(round(close * shares / 1e8)),  # 억원 (KRW 100 million), as HTS shows market cap
        "per": rate(close / facts["eps"]) if facts["eps"] else "",
        "pbr": rate(close / facts["bps"]) if facts["bps"] else "",
        "eps": rate(facts["eps"]),
        "vol_tnrt": rate(percent(int(prices.volume[p]), shares)),
    }


def stock_ohlcv(series: SymbolSeries) -> dict[str, np.ndarray]:
    """A stock's daily arrays under the names index_ohlcv uses, for period_bars."""
    pr = series.prices
    return {
        "open": pr.open,
        "high": pr.high,
        "low": pr.low,
        "close": pr.close,
        "volume": pr.volume,
        "value": pr.value,
        "previous": pr.previous_close,
    }


class PeriodBar(TypedDict):
    """One D/W/M/Y bar: the last trading day of its period (YYYYMMDD) and its OHLCV."""

    day: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    value: float
    previous: float


def bar_fields(bar: PeriodBar) -> dict[str, str]:
    """A period bar under the daily endpoints' names (the stock chart TRs)."""
    return {
        "stck_bsop_date": str(bar["day"]),
        "stck_oprc": num(bar["open"]),
        "stck_hgpr": num(bar["high"]),
        "stck_lwpr": num(bar["low"]),
        "stck_clpr": num(bar["close"]),
        "acml_vol": num(bar["volume"]),
        "acml_tr_pbmn": num(bar["value"]),
    }


def period_bars(
    days: np.ndarray, ohlcv: dict[str, np.ndarray], oldest_first: np.ndarray, period: str
) -> list[PeriodBar]:
    """OHLCV bars of D/W/M/Y periods over the given day positions, newest first. A week runs Monday to
    Sunday; a bar carries the last trading day of its period (simulator choice: KIS's label is
    UNVERIFIED)."""
    if len(oldest_first) == 0:
        return []
    chosen = days[oldest_first]
    unit = {"D": "D", "M": "M", "Y": "Y"}.get(period)
    keys = (
        (chosen.astype("int64") - 4) // 7
        if unit is None
        else chosen.astype(f"datetime64[{unit}]").astype("int64")
    )
    bars: list[PeriodBar] = []
    for group in np.split(oldest_first, np.flatnonzero(np.diff(keys)) + 1):
        first, last = int(group[0]), int(group[-1])
        bars.append(
            {
                "day": ymd(days[last]),
                "open": ohlcv["open"][first],
                "high": ohlcv["high"][group].max(),
                "low": ohlcv["low"][group].min(),
                "close": ohlcv["close"][last],
                "volume": ohlcv["volume"][group].sum(),
                "value": ohlcv["value"][group].sum(),
                "previous": ohlcv["previous"][first],
            }
        )
    return bars[::-1]


@service("FHKST03010100", "quotations/inquire-daily-itemchartprice", real_only=False)
def daily_item_chart(model: MarketModel, query: Query) -> Reply:
    """At most 100 bars per call (KIS spec), newest first; no tr_cont, the caller moves FID_INPUT_DATE_2."""
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    period = query.choice("FID_PERIOD_DIV_CODE", ("D", "W", "M", "Y"), "D")
    query.choice("FID_ORG_ADJ_PRC", ("0", "1"), "0")
    series = load_series(model, query)
    first, last = query.date("FID_INPUT_DATE_1"), query.date("FID_INPUT_DATE_2")
    if last < first:
        raise errors.bad_param("FID_INPUT_DATE_2", f"{ymd(last)} is before FID_INPUT_DATE_1 {ymd(first)}")
    blank_today = publication_gate(model, DAILY_CHART, last)  # the other forms, when switched to
    finals = newest_first(series, first, min(last, model.cutoff(DAILY_CHART)))
    growing = _growing_day(model, series, first, last)  # today's candle during the session
    if not finals and growing is None:
        return no_rows(model, series.symbol, "output2", has_head=True)
    ohlcv = stock_ohlcv(series)
    if growing is not None:
        ohlcv = _growing_ohlcv(series, growing, model.session_fraction())
    shown = ([growing] if growing is not None else []) + finals
    bars = period_bars(series.days, ohlcv, np.array(shown[::-1], dtype=np.int64), period)[
        : model.config.rows_per_call(DAILY_CHART)
    ]
    p = finals[0] if finals else shown[0]  # newest final day for the quote
    index = model.position(series.symbol)
    head = {
        "output1": {
            "hts_kor_isnm": model.universe.names[index],
            "stck_prdy_clpr": num(series.prices.previous_close[p]),
            **quote_fields(model, series, p),
        }
    }

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        rows = []
        for k in positions:
            bar = bars[k]
            change = change_fields(int(bar["close"]), int(bar["previous"]))
            rows.append(
                {
                    **bar_fields(bar),
                    "prdy_vrss": change["prdy_vrss"],
                    "prdy_vrss_sign": change["prdy_vrss_sign"],
                    "flng_cls_code": "00",
                    "prtt_rate": "0.00",
                    "mod_yn": "N",
                    "revl_issu_reas": "",
                }
            )
        return rows

    items, served = with_blank_today(list(range(len(bars))), encode, blank_today)
    return Reply(head, "output2", items, served, paged=False, symbol=series.symbol)


def extremes(
    series: SymbolSeries, span: slice, p: int, *, high: str, low: str, suffix: str
) -> dict[str, str]:
    """Highest high / lowest low over `span` with their dates and the current price's distance to them.
    KIS names the date and rate after the field without its `stck_` prefix (`dryy_hgpr_date`)."""
    pr, close = series.prices, int(series.prices.close[p])
    out = {}
    for name, values, pick in ((high, pr.high, np.argmax), (low, pr.low, np.argmin)):
        k = span.start + int(pick(values[span]))
        stem = name.removeprefix("stck_")
        out[name] = num(values[k])
        out[f"{stem}_date"] = ymd(series.days[k])
        out[f"{stem}{suffix}"] = rate(percent(close - int(values[k]), int(values[k])))
    return out


@service("FHKST01010100", "quotations/inquire-price", real_only=False)
def inquire_price(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    p = position_at(series, model.cutoff())
    index = model.position(series.symbol)
    pr = series.prices
    facts = fundamentals(model, series.symbol)
    shares = int(model.universe.listed_shares[index])
    window = slice(max(0, p - 249), p + 1)
    year = slice(int(np.searchsorted(series.days, series.days[p].astype("datetime64[Y]"), "left")), p + 1)
    last_short = int(series.short_volume[p])
    market = str(model.universe.markets[index])
    output = {
        "iscd_stat_cls_code": "55",
        "marg_rate": "40.00",
        "rprs_mrkt_kor_name": market,
        "bstp_kor_isnm": SECTORS[int(series.sector[p])].name,
        "temp_stop_yn": "N",
        **quote_fields(model, series, p),
        "prdy_vrss_vol_rate": rate(percent(int(pr.volume[p]), int(pr.volume[p - 1]))) if p > 0 else "",
        "stck_sdpr": num(pr.previous_close[p]),
        "wghn_avrg_stck_prc": rate(pr.value[p] / pr.volume[p]) if pr.volume[p] else "",
        "hts_frgn_ehrt": rate(facts["foreign_share"] * 100),
        "frgn_ntby_qty": num(series.buy_qty[p, 0] - series.sell_qty[p, 0]),
        "pgtr_ntby_qty": num(series.program[p, 0] - series.program[p, 1]),
        "stck_fcam": num(PAR_VALUE),
        "aspr_unit": num(tick_size(np.array([pr.close[p]]))[0]),
        "bps": rate(facts["bps"]),
        **extremes(series, window, p, high="d250_hgpr", low="d250_lwpr", suffix="_vrss_prpr_rate"),
        **extremes(series, window, p, high="w52_hgpr", low="w52_lwpr", suffix="_vrss_prpr_ctrt"),
        **extremes(series, year, p, high="stck_dryy_hgpr", low="stck_dryy_lwpr", suffix="_vrss_prpr_rate"),
        "cpfn": num(round(shares * PAR_VALUE / 1e8)),  # 억원, like hts_avls
        "stac_month": "12",
        "crdt_able_yn": "Y",
        "vi_cls_code": "N",
        "ovtm_vi_cls_code": "N",
        "ssts_yn": "Y" if last_short > 0 else "N",
        "frgn_hldn_qty": num(round(shares * facts["foreign_share"])),
        "last_ssts_cntg_qty": num(last_short),
        "mrkt_warn_cls_code": "00",
        "short_over_yn": "N",
        "sltr_yn": "N",
        "mang_issu_cls_code": "N",
        "invt_caful_yn": "N",
    }
    return Reply({"output": output}, symbol=series.symbol)


@service("CTPF1002R", "quotations/search-stock-info", real_only=True)
def search_stock_info(model: MarketModel, query: Query) -> Reply:
    query.choice("PRDT_TYPE_CD", ("300",))
    series = load_series(model, query, "PDNO")
    index = model.position(series.symbol)
    p = position_at(series, model.latest_day())
    sector = SECTORS[int(series.sector[p])]
    market = str(model.universe.markets[index])
    large_code, large_name = SIZE_CLASS[bool(model.universe.index_member[index])]
    shares = int(model.universe.listed_shares[index])
    name = model.universe.names[index]
    output = {
        "pdno": f"00000A{series.symbol}",  # KIS's documented example: "00000A000660"
        "prdt_type_cd": "300",
        "prdt_name": name,
        "prdt_abrv_name": name,
        "mket_id_cd": "STK" if market == "KOSPI" else "KSQ",
        "scty_grp_id_cd": "ST",
        "excg_dvsn_cd": "02" if market == "KOSPI" else "03",
        "lstg_stqt": num(shares),
        "cpta": num(shares * PAR_VALUE),
        "papr": num(PAR_VALUE),
        "tr_stop_yn": "N",
        "admn_item_yn": "N",
        "thdt_clpr": num(series.prices.close[p]),
        "bfdy_clpr": num(series.prices.previous_close[p]),
        "frnr_psnl_lmt_rt": "0.00",
        "cptt_trad_tr_psbl_yn": "Y",
        "nxt_tr_stop_yn": "N",
        "lstg_abol_dt": "",
        "idx_bztp_lcls_cd": large_code,
        "idx_bztp_lcls_cd_name": large_name,
        "idx_bztp_mcls_cd": sector.kis_code,
        "idx_bztp_mcls_cd_name": sector.name,
        "idx_bztp_scls_cd": "",
        "idx_bztp_scls_cd_name": "",
        "std_idst_clsf_cd": "",
        "std_idst_clsf_cd_name": "",
        "kospi200_item_yn": "Y" if market == "KOSPI" and model.universe.index_member[index] else "N",
    }
    return Reply({"output": output}, symbol=series.symbol)


@service("FHPST04830000", "quotations/daily-short-sale", real_only=True)
def daily_short_sale(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", MARKET_DIV_CODES)
    series = load_series(model, query)
    first = query.date("FID_INPUT_DATE_1", earliest(model))
    today = publication_gate(model, "FHPST04830000", query.optional_date("FID_INPUT_DATE_2"))
    last = last_final_day(model, query, "FID_INPUT_DATE_2", "FHPST04830000")
    items = newest_first(series, first, last)
    if not items:
        return no_rows(model, series.symbol, "output2", has_head=True)
    lo = items[-1]
    pr = series.prices
    cum_short_qty = np.cumsum(series.short_volume[lo:])
    cum_short_value = np.cumsum(series.short_value[lo:])
    cum_volume, cum_value = np.cumsum(pr.volume[lo:]), np.cumsum(pr.value[lo:])
    head = {"output1": last_price_head(series, position_at(series, last))}

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        rows = []
        for i in positions:
            k = i - lo
            short_qty, short_value = int(series.short_volume[i]), int(series.short_value[i])
            rows.append(
                {
                    **daily_bar(series, i),
                    "ssts_cntg_qty": num(short_qty),
                    "ssts_vol_rlim": rate(percent(short_qty, pr.volume[i])),
                    "ssts_tr_pbmn": num(short_value),
                    "ssts_tr_pbmn_rlim": rate(percent(short_value, pr.value[i])),
                    "acml_ssts_cntg_qty": num(cum_short_qty[k]),
                    "acml_ssts_cntg_qty_rlim": rate(percent(cum_short_qty[k], cum_volume[k])),
                    "acml_ssts_tr_pbmn": num(cum_short_value[k]),
                    "acml_ssts_tr_pbmn_rlim": rate(percent(cum_short_value[k], cum_value[k])),
                    "stnd_vol_smtn": num(pr.volume[i]),
                    "stnd_tr_pbmn_smtn": num(pr.value[i]),
                    "avrg_prc": num(round(short_value / short_qty)) if short_qty else "0",
                }
            )
        return rows

    items, served = with_blank_today(items, encode, today)
    return Reply(head, "output2", items, served, paged=True, symbol=series.symbol)
