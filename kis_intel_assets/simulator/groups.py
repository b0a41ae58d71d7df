"""Investor groups as KIS reports them, aggregated exactly from the leaf groups of a symbol series."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kis_intel_assets.investor_groups import INSTITUTION_SUBGROUPS, OTHER_SUBGROUPS
from kis_intel_assets.simulator.factors import LEAVES
from kis_intel_assets.simulator.series import SymbolSeries

# DB group name -> KIS field prefix (kis_api.md §3.2), in the order fields are emitted.
KIS_PREFIX: dict[str, str] = {
    "foreign": "frgn",
    "individual": "prsn",
    "institution": "orgn",
    "securities": "scrt",
    "investment_trust": "ivtr",
    "private_fund": "pe_fund",
    "bank": "bank",
    "insurance": "insu",
    "merchant_bank": "mrbn",
    "pension_fund": "fund",
    "other": "etc",
    "other_corporation": "etc_corp",
    "other_organization": "etc_orgt",
}
# KIS spells these groups' net quantity `_ntby_vol` instead of `_ntby_qty`.
NET_VOL_PREFIXES = frozenset({"pe_fund", "etc_corp", "etc_orgt"})
FOREIGN_REGISTERED_SHARE = (
    0.93  # registered foreigners' part of foreign buying/selling (frgn_reg vs frgn_nreg)
)


@dataclass(frozen=True)
class GroupFlows:
    buy_qty: np.ndarray
    sell_qty: np.ndarray
    buy_value_m: np.ndarray  # KRW million
    sell_value_m: np.ndarray

    @property
    def net_qty(self) -> np.ndarray:
        return self.buy_qty - self.sell_qty

    @property
    def net_value_m(self) -> np.ndarray:
        return self.buy_value_m - self.sell_value_m


def aggregate(
    buy_qty: np.ndarray, sell_qty: np.ndarray, buy_value_m: np.ndarray, sell_value_m: np.ndarray
) -> dict[str, GroupFlows]:
    """KIS groups from leaf arrays shaped (rows, leaves): institution and other are exact sums of their
    leaves."""
    columns = {leaf: i for i, leaf in enumerate(LEAVES)}

    def pick(leaves: tuple[str, ...]) -> GroupFlows:
        idx = [columns[leaf] for leaf in leaves]
        return GroupFlows(
            *(arr[:, idx].sum(axis=1) for arr in (buy_qty, sell_qty, buy_value_m, sell_value_m))
        )

    flows = {leaf: pick((leaf,)) for leaf in LEAVES}
    flows["institution"] = pick(INSTITUTION_SUBGROUPS)
    flows["other"] = pick(OTHER_SUBGROUPS)
    return {name: flows[name] for name in KIS_PREFIX}


def group_flows(series: SymbolSeries, positions: np.ndarray) -> dict[str, GroupFlows]:
    return aggregate(
        series.buy_qty[positions],
        series.sell_qty[positions],
        series.buy_value_m[positions],
        series.sell_value_m[positions],
    )


def foreign_split(foreign: GroupFlows) -> tuple[GroupFlows, GroupFlows]:
    """Registered / non-registered foreigners; the two add up exactly to the foreign group."""
    registered = GroupFlows(
        *(
            np.round(a * FOREIGN_REGISTERED_SHARE).astype(np.int64)
            for a in (foreign.buy_qty, foreign.sell_qty, foreign.buy_value_m, foreign.sell_value_m)
        )
    )
    rest = GroupFlows(
        foreign.buy_qty - registered.buy_qty,
        foreign.sell_qty - registered.sell_qty,
        foreign.buy_value_m - registered.buy_value_m,
        foreign.sell_value_m - registered.sell_value_m,
    )
    return registered, rest
