"""The Kiwoom view of the simulator's market: the same MarketModel series (and the same stock lending,
simulator/lending.py), encoded the way Kiwoom's TRs report them.

Simulator choices where docs/kiwoom_api.md leaves a gap (the client is written to hold under them):
- prices carry "+"/"-" for the direction against the previous close and no prefix when flat; `pre_sig`
  uses the KIS 1-5 codes; investor amounts are KRW million, programme, short and lending amounts KRW
  (config.DEFAULT_AMOUNT_UNITS of the client);
- investor groups: `natn` (국가) is KIS's other_organization, `natfor` (내외국인) is 0.
"""

from __future__ import annotations

import numpy as np

from kis_intel_assets.simulator.encode import change_fields, percent, rate
from kis_intel_assets.simulator.groups import GroupFlows
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.series import SymbolSeries

INVESTOR_SOURCE_GROUP = {
    "ind_invsr": "individual",
    "frgnr_invsr": "foreign",
    "orgn": "institution",
    "fnnc_invt": "securities",
    "insrnc": "insurance",
    "invtrt": "investment_trust",
    "etc_fnnc": "merchant_bank",
    "bank": "bank",
    "penfnd_etc": "pension_fund",
    "samo_fund": "private_fund",
    "natn": "other_organization",
    "etc_corp": "other_corporation",
}
ZERO_INVESTOR_FIELDS = ("natfor",)


def directed(value: int, change: int) -> str:
    """A price with Kiwoom's direction prefix."""
    return ("+" if change > 0 else "-" if change < 0 else "") + str(int(value))


def signed(value: float | int) -> str:
    return f"+{int(value)}" if value > 0 else str(int(value))


def price_fields(series: SymbolSeries, i: int) -> dict[str, str]:
    close, previous = int(series.prices.close[i]), int(series.prices.previous_close[i])
    kis = change_fields(close, previous)
    change = close - previous
    return {
        "cur_prc": directed(close, change),
        "pre_sig": kis["prdy_vrss_sign"],
        "pred_pre": signed(change),
        "flu_rt": ("+" if change > 0 else "") + rate(percent(change, previous)),
    }


def investor_values(
    flows: dict[str, GroupFlows], k: int, amount: bool, side: str, unit: int
) -> dict[str, str]:
    """One ka10059 row's group values; side "0" net, "1" buy, "2" sell; amounts KRW million."""
    out: dict[str, str] = {}
    for source, group in INVESTOR_SOURCE_GROUP.items():
        g = flows[group]
        buy, sell = (g.buy_value_m[k], g.sell_value_m[k]) if amount else (g.buy_qty[k], g.sell_qty[k])
        value = {"0": buy - sell, "1": buy, "2": sell}[side]
        out[source] = signed(value if amount else value // unit if value >= 0 else -((-value) // unit))
    return out | dict.fromkeys(ZERO_INVESTOR_FIELDS, "0")


def market_symbols(model: MarketModel, market: str) -> list[str]:
    u = model.universe
    return [str(s) for s, m in zip(u.symbols, u.markets, strict=True) if m == market]


def day_position(series: SymbolSeries, day: np.datetime64) -> int | None:
    k = int(np.searchsorted(series.days, day))
    return k if k < len(series.days) and series.days[k] == day else None
