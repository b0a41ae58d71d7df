"""종목별 일별 대차거래추이 (HHPST074500C0): a stock's daily lending, newest first, in `output1`.

The official sample sends MRKT_DIV_CLS_CODE (1 KOSPI, 2 KOSDAQ, 3 stock), MKSC_SHRN_ISCD, START_DATE,
END_DATE and CTS, and reads the rows from output1; at most 100 rows per call, "start_date, end_date 를
수정하여 다음 조회" (the caller moves its dates). Every division answers the stock's rows here (a market
aggregate is not modelled). A day is served once its publication time has passed (clock.py: the same
evening by default, switchable to a later trading day); before that it is absent, never a blank or zero
row. CTS is accepted and ignored: the continuation, if any, is tr_cont (paging.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from kis_intel_assets.simulator.encode import change_fields, num, ymd
from kis_intel_assets.simulator.handlers_base import (
    Query,
    Reply,
    earliest,
    last_final_day,
    load_series,
    newest_first,
    no_rows,
    service,
)
from kis_intel_assets.simulator.lending import stock_lending
from kis_intel_assets.simulator.model import MarketModel

TR_ID = "HHPST074500C0"
DIVISIONS = ("1", "2", "3")


@service(TR_ID, "quotations/daily-loan-trans", real_only=True)
def daily_loan_trans(model: MarketModel, query: Query) -> Reply:
    query.choice("MRKT_DIV_CLS_CODE", DIVISIONS)
    symbol = load_series(model, query, "MKSC_SHRN_ISCD").symbol
    series, lending = stock_lending(model, symbol)
    first = query.date("START_DATE", earliest(model))
    last = last_final_day(model, query, "END_DATE", TR_ID)
    items = newest_first(series, first, last)
    if not items:
        return no_rows(model, symbol, "output1", has_head=False)
    prices = series.prices

    def encode(positions: Sequence[int]) -> list[dict[str, str]]:
        return [
            {
                "bsop_date": ymd(series.days[i]),
                "stck_prpr": num(prices.close[i]),
                **change_fields(int(prices.close[i]), int(prices.previous_close[i])),
                "acml_vol": num(prices.volume[i]),
                "new_stcn": num(lending.new[i]),
                "rdmp_stcn": num(lending.redeemed[i]),
                "prdy_rmnd_vrss": num(lending.balance[i] - lending.previous_balance[i]),
                "rmnd_stcn": num(lending.balance[i]),
                "rmnd_amt": num(lending.amount[i]),
            }
            for i in positions
        ]

    return Reply({}, "output1", items, encode, paged=True, symbol=symbol)
