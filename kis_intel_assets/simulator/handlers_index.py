"""업종 index levels, daily (FHPUP02120000) and by period (FHKUP03500100): market indices and every sector
index in sectors.py."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.encode import index_change_fields, num, rate, ymd
from kis_intel_assets.simulator.handlers_base import Query, Reply, last_final_day, service
from kis_intel_assets.simulator.handlers_stock import period_bars
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.sectors import MARKET_INDICES, SECTOR_INDEX, SECTORS


def _index_row(index: dict[str, np.ndarray], i: int) -> dict[str, str]:
    return {
        "bstp_nmix_prpr": rate(index["close"][i]),
        **index_change_fields(index["close"][i], index["previous"][i]),
        "bstp_nmix_oprc": rate(index["open"][i]),
        "bstp_nmix_hgpr": rate(index["high"][i]),
        "bstp_nmix_lwpr": rate(index["low"][i]),
        "acml_vol": num(index["volume"][i]),
        "acml_tr_pbmn": num(index["value"][i]),
    }


@service("FHPUP02120000", "quotations/inquire-index-daily-price", real_only=True)
def index_daily_price(model: MarketModel, query: Query) -> Reply:
    query.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    query.choice("FID_PERIOD_DIV_CODE", ("D",), "D")
    code = query.text("FID_INPUT_ISCD")
    if code not in SECTOR_INDEX and code not in MARKET_INDICES:
        raise errors.no_data(f"unknown 업종 index code {code!r}")
    last = last_final_day(model, query, "FID_INPUT_DATE_1")
    hi = int(np.searchsorted(model.days, last, "right"))
    index = model.factors.index_ohlcv(code)
    head = {"output1": _index_row(index, hi - 1)} if hi else {"output1": {}}

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        return [{"stck_bsop_date": ymd(model.days[i]), **_index_row(index, i)} for i in positions]

    return Reply(head, "output2", list(range(hi - 1, -1, -1)), encode, paged=True)


@service("FHKUP03500100", "quotations/inquire-daily-indexchartprice", real_only=False)
def daily_index_chart(model: MarketModel, query: Query) -> Reply:
    """업종 index bars of D/W/M/Y periods in [FID_INPUT_DATE_1, FID_INPUT_DATE_2], newest first, one page of
    at most the TR's page size (paging.py; the caller moves FID_INPUT_DATE_2 back, as for FHKST03010100)."""
    query.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    period = query.choice("FID_PERIOD_DIV_CODE", ("D", "W", "M", "Y"), "D")
    code = query.text("FID_INPUT_ISCD")
    if code not in SECTOR_INDEX and code not in MARKET_INDICES:
        raise errors.no_data(f"unknown 업종 index code {code!r}")
    first, last = query.date("FID_INPUT_DATE_1"), min(query.date("FID_INPUT_DATE_2"), model.cutoff())
    lo, hi = int(np.searchsorted(model.days, first, "left")), int(np.searchsorted(model.days, last, "right"))
    index = model.factors.index_ohlcv(code)
    size = model.config.rows_per_call("FHKUP03500100")
    bars = period_bars(model.days, index, np.arange(lo, hi), period)[:size]
    p = max(hi - 1, 0)
    head = {
        "output1": {
            **_index_row(index, p),
            "prdy_nmix": rate(index["previous"][p]),
            "hts_kor_isnm": MARKET_INDICES[code][1]
            if code in MARKET_INDICES
            else SECTORS[SECTOR_INDEX[code]].name,
            "bstp_cls_code": code,
            "prdy_vol": num(index["volume"][p - 1]) if p else "",
        }
    }

    def encode(rows: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "stck_bsop_date": str(bars[k]["day"]),
                "bstp_nmix_prpr": rate(bars[k]["close"]),
                "bstp_nmix_oprc": rate(bars[k]["open"]),
                "bstp_nmix_hgpr": rate(bars[k]["high"]),
                "bstp_nmix_lwpr": rate(bars[k]["low"]),
                "acml_vol": num(bars[k]["volume"]),
                "acml_tr_pbmn": num(bars[k]["value"]),
                "mod_yn": "N",
            }
            for k in rows
        ]

    return Reply(head, "output2", list(range(len(bars))), encode)
