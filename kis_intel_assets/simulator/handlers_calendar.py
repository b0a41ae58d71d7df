"""국내휴장일조회 CTCA0903R: whether each calendar day from BASS_DT is a business, trading, opening and
settlement day, from the simulator's own KRX calendar (its trading days; beyond them krx_calendar).

The body carries the account-style cursors `ctx_area_fk` / `ctx_area_nk` the official sample reads (blank:
one page, simulator choice). KIS asks callers to use it sparingly (about once a day).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kis_intel_assets import krx_calendar
from kis_intel_assets.simulator.handlers_base import Query, Reply, service
from kis_intel_assets.simulator.model import MarketModel

# KIS's wday_dvsn_cd: 01 Sunday ... 07 Saturday
WEEKDAY_CODES = ("02", "03", "04", "05", "06", "07", "01")


def is_open(model: MarketModel, day: np.datetime64) -> bool:
    if model.days[0] <= day <= model.days[-1]:
        position = int(np.searchsorted(model.days, day, "left"))
        return position < len(model.days) and model.days[position] == day
    return krx_calendar.is_trading_day(day.astype(object))


@service("CTCA0903R", "quotations/chk-holiday", real_only=True)
def chk_holiday(model: MarketModel, query: Query) -> Reply:
    first = query.date("BASS_DT")
    count = model.config.rows_per_call("CTCA0903R")
    days = [first + np.timedelta64(k, "D") for k in range(count)]

    def encode(rows: Sequence[int]) -> list[dict[str, str]]:
        out = []
        for k in rows:
            day = days[k]
            flag = "Y" if is_open(model, day) else "N"
            calendar_day = day.astype(object)
            out.append(
                {
                    "bass_dt": f"{calendar_day:%Y%m%d}",
                    "wday_dvsn_cd": WEEKDAY_CODES[calendar_day.weekday()],
                    "bzdy_yn": flag,
                    "tr_day_yn": flag,
                    "opnd_yn": flag,
                    "sttl_day_yn": flag,
                }
            )
        return out

    return Reply({"ctx_area_fk": "", "ctx_area_nk": ""}, "output", list(range(len(days))), encode)
