"""Kiwoom TR handlers: body -> the full row list (newest first), which the app pages by cont-yn/next-key.

Paths, api-ids, body keys and field names are those of docs/kiwoom_api.md. Dates after the simulated
clock's cutoff (model.cutoff(), 15:40 KST) are not served; an empty range is return_code 0 with no rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from kis_intel_assets.simulator.encode import num, percent, rate, ymd
from kis_intel_assets.simulator.groups import group_flows
from kis_intel_assets.simulator.kiwoom_market import (
    day_position,
    investor_values,
    market_symbols,
    price_fields,
    signed,
)
from kis_intel_assets.simulator.lending import stock_lending
from kis_intel_assets.simulator.model import MarketModel, UnknownSymbolError
from kis_intel_assets.simulator.series import SymbolSeries

_DATE = re.compile(r"\d{8}")
PROGRAM_MARKETS = {"P00101": "KOSPI", "P10102": "KOSDAQ"}
LENDING_MARKETS = {"001": "KOSPI", "101": "KOSDAQ"}


class KiwoomSimError(Exception):
    """An error answer: HTTP status + return_code/return_msg."""

    def __init__(self, return_code: int, return_msg: str, http_status: int = 200) -> None:
        self.return_code = return_code
        self.return_msg = return_msg
        self.http_status = http_status
        super().__init__(f"{return_code}: {return_msg}")


@dataclass(frozen=True)
class KiwoomReply:
    list_key: str
    rows: list[dict[str, str]]
    head: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KiwoomService:
    path: str
    required: tuple[str, ...]
    handler: Callable[[MarketModel, Mapping[str, str]], KiwoomReply]


def missing(name: str) -> KiwoomSimError:
    return KiwoomSimError(1511, f"필수 입력 값에 값이 존재하지 않습니다. 필수입력 파라미터={name}")


def bad_input(name: str, reason: str) -> KiwoomSimError:
    return KiwoomSimError(1517, f"입력 값 형식이 올바르지 않습니다. 파라미터={name} 실패사유= {reason}")


def _day_or_latest(body: Mapping[str, str], name: str) -> np.datetime64 | None:
    """The day in `name`, None when blank (the endpoints that read a blank date as the latest)."""
    return None if body.get(name, "") == "" else _day(body, name)


def _day(body: Mapping[str, str], name: str) -> np.datetime64:
    text = body.get(name, "")
    if not _DATE.fullmatch(text):
        raise bad_input(name, "YYYYMMDD")
    try:
        return np.datetime64(f"{text[:4]}-{text[4:6]}-{text[6:]}", "D")
    except ValueError:
        raise bad_input(name, "not a date") from None


def _choice(body: Mapping[str, str], name: str, allowed: Mapping[str, object] | tuple[str, ...]) -> str:
    value = body.get(name, "")
    if value not in allowed:
        raise bad_input(name, f"one of {sorted(allowed)}")
    return value


def _series(model: MarketModel, body: Mapping[str, str]) -> SymbolSeries:
    code = body.get("stk_cd", "")
    try:
        return model.series(code)
    except UnknownSymbolError:
        raise KiwoomSimError(
            1902, f"종목 정보가 없습니다. 입력한 종목코드 값을 확인바랍니다. 종목코드={code}"
        ) from None


def _upto(
    model: MarketModel, series: SymbolSeries, last: np.datetime64 | None, first: np.datetime64 | None = None
) -> list[int]:
    """Positions from `last` (blank = latest final day) back to `first`, newest first."""
    limit = min(model.cutoff(), last) if last is not None else model.cutoff()
    hi = int(np.searchsorted(series.days, limit, "right"))
    lo = int(np.searchsorted(series.days, first, "left")) if first is not None else 0
    return list(range(hi - 1, lo - 1, -1))


def investor_by_institution(model: MarketModel, body: Mapping[str, str]) -> KiwoomReply:
    series = _series(model, body)
    amount = _choice(body, "amt_qty_tp", ("1", "2")) == "1"
    side = _choice(body, "trde_tp", ("0", "1", "2"))
    unit = int(_choice(body, "unit_tp", ("1", "1000")))
    positions = _upto(model, series, _day(body, "dt"))
    flows = group_flows(series, np.array(positions, dtype=np.int64))
    rows = []
    for k, i in enumerate(positions):
        pr = series.prices
        rows.append(
            {
                "dt": ymd(series.days[i]),
                **price_fields(series, i),
                "acc_trde_qty": num(pr.volume[i]),
                "acc_trde_prica": num(round(pr.value[i] / 1_000_000)),
                **investor_values(flows, k, amount, side, unit),
            }
        )
    return KiwoomReply("stk_invsr_orgn", rows)


def short_sale_trend(model: MarketModel, body: Mapping[str, str]) -> KiwoomReply:
    series = _series(model, body)
    _choice(body, "tm_tp", ("0", "1"))
    positions = _upto(model, series, _day(body, "end_dt"), _day(body, "strt_dt"))
    cumulative = np.cumsum(series.short_volume[positions[::-1]])[::-1]
    rows = []
    for k, i in enumerate(positions):
        short_qty, short_value, volume = (
            int(series.short_volume[i]),
            int(series.short_value[i]),
            int(series.prices.volume[i]),
        )
        fields = price_fields(series, i)
        rows.append(
            {
                "dt": ymd(series.days[i]),
                "close_pric": fields["cur_prc"],
                "pred_pre_sig": fields["pre_sig"],
                "pred_pre": fields["pred_pre"],
                "flu_rt": fields["flu_rt"],
                "trde_qty": num(volume),
                "shrts_qty": num(short_qty),
                "ovr_shrts_qty": num(cumulative[k]),
                "trde_wght": rate(percent(short_qty, volume)),
                "shrts_trde_prica": num(short_value),
                "shrts_avg_pric": num(round(short_value / short_qty)) if short_qty else "0",
            }
        )
    return KiwoomReply("shrts_trnsn", rows)


def program_daily(model: MarketModel, body: Mapping[str, str], *, fill_both: bool = True) -> KiwoomReply:
    series = _series(model, body)
    mode = _choice(body, "amt_qty_tp", ("1", "2"))
    positions = _upto(model, series, _day_or_latest(body, "date"))
    rows = []
    for i in positions:
        buy_qty, sell_qty, buy_amt, sell_amt = (int(v) for v in series.program[i])
        previous = series.program[i - 1] if i > 0 else np.zeros(4, dtype=np.int64)
        amounts = {
            "prm_sell_amt": sell_amt,
            "prm_buy_amt": buy_amt,
            "prm_netprps_amt": buy_amt - sell_amt,
            "prm_netprps_amt_irds": buy_amt - sell_amt - int(previous[2] - previous[3]),
        }
        quantities = {
            "prm_sell_qty": sell_qty,
            "prm_buy_qty": buy_qty,
            "prm_netprps_qty": buy_qty - sell_qty,
            "prm_netprps_qty_irds": buy_qty - sell_qty - int(previous[0] - previous[1]),
        }
        if not fill_both:  # variant: each mode fills only its own fields
            blank = quantities if mode == "1" else amounts
            blank.update(dict.fromkeys(blank, 0))
        rows.append(
            {
                "dt": ymd(series.days[i]),
                **price_fields(series, i),
                "trde_qty": num(series.prices.volume[i]),
                **{k: signed(v) for k, v in (amounts | quantities).items()},
                "base_pric_tm": "",
                "dbrt_trde_rpy_sum": "",
                "remn_rcvord_sum": "",
                "stex_tp": "KRX",
            }
        )
    return KiwoomReply("stk_daly_prm_trde_trnsn", rows)


def program_all_stocks(
    model: MarketModel, body: Mapping[str, str], *, most_traded: int | None = None
) -> KiwoomReply:
    """Every stock of the market-day; `most_traded` = N: only the N with the largest programme value
    (buy + sell), a variant for a live list that does not cover the whole market (not documented)."""
    market = PROGRAM_MARKETS[_choice(body, "mrkt_tp", PROGRAM_MARKETS)]
    _choice(body, "stex_tp", ("1", "2", "3"))
    day = _day(body, "dt")
    rows: list[dict[str, str]] = []
    totals = np.zeros(4, dtype=np.int64)
    if day <= model.cutoff():
        for symbol in market_symbols(model, market):
            series = model.series(symbol)
            i = day_position(series, day)
            if i is None:
                continue
            buy_qty, sell_qty, buy_amt, sell_amt = (int(v) for v in series.program[i])
            totals += series.program[i]
            fields = price_fields(series, i)
            rows.append(
                {
                    "stk_cd": symbol,
                    "stk_nm": model.universe.names[model.position(symbol)],
                    "cur_prc": fields["cur_prc"],
                    "flu_sig": fields["pre_sig"],
                    "pred_pre": fields["pred_pre"],
                    "buy_cntr_qty": num(buy_qty),
                    "buy_cntr_amt": num(buy_amt),
                    "sel_cntr_qty": num(sell_qty),
                    "sel_cntr_amt": num(sell_amt),
                    "netprps_prica": signed(buy_amt - sell_amt),
                    "all_trde_rt": rate(percent(buy_amt + sell_amt, 2 * int(series.prices.value[i]))),
                }
            )
    head = {f"tot_{n}": num(v) for n, v in enumerate((*totals, totals[2] - totals[3]), start=1)} | {
        "tot_6": ""
    }
    if most_traded is not None:
        rows = sorted(rows, key=lambda r: -(int(r["buy_cntr_amt"]) + int(r["sel_cntr_amt"])))[:most_traded]
    return KiwoomReply("stk_prm_trde_prst", rows, head)


def lending_by_stock(model: MarketModel, body: Mapping[str, str]) -> KiwoomReply:
    market = LENDING_MARKETS[_choice(body, "mrkt_tp", LENDING_MARKETS)]
    day = _day(body, "dt")
    rows = []
    if day <= model.cutoff():
        for symbol in market_symbols(model, market):
            series, book = stock_lending(model, symbol)
            i = day_position(series, day)
            if i is None:
                continue
            rows.append(
                {
                    "stk_nm": model.universe.names[model.position(symbol)],
                    "stk_cd": symbol,
                    "dbrt_trde_cntrcnt": num(book.new[i]),
                    "dbrt_trde_rpy": num(book.redeemed[i]),
                    "rmnd": num(book.balance[i]),
                    "remn_amt": num(book.amount[i]),
                }
            )
    return KiwoomReply("dbrt_trde_prps", rows)


SERVICES: dict[str, KiwoomService] = {
    "ka10059": KiwoomService(
        "/api/dostk/stkinfo", ("dt", "stk_cd", "amt_qty_tp", "trde_tp", "unit_tp"), investor_by_institution
    ),
    "ka10014": KiwoomService("/api/dostk/shsa", ("stk_cd", "strt_dt", "end_dt"), short_sale_trend),
    "ka90013": KiwoomService("/api/dostk/mrkcond", ("stk_cd",), program_daily),
    "ka90004": KiwoomService("/api/dostk/stkinfo", ("dt", "mrkt_tp", "stex_tp"), program_all_stocks),
    "ka90012": KiwoomService("/api/dostk/slb", ("dt", "mrkt_tp"), lending_by_stock),
}
