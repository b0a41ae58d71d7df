"""업종 index daily levels (FHPUP02120000): market indices and every sector index in sectors.py."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.encode import index_change_fields, num, rate, ymd
from kis_intel_assets.simulator.handlers_base import Query, Reply, service
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.sectors import MARKET_INDICES, SECTOR_INDEX


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
    last = min(query.date("FID_INPUT_DATE_1", model.cutoff()), model.cutoff())
    hi = int(np.searchsorted(model.days, last, "right"))
    index = model.factors.index_ohlcv(code)
    head = {"output1": _index_row(index, hi - 1)} if hi else {"output1": {}}

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        return [{"stck_bsop_date": ymd(model.days[i]), **_index_row(index, i)} for i in positions]

    return Reply(head, "output2", list(range(hi - 1, -1, -1)), encode, paged=True)
