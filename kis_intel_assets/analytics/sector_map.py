"""The /sectors map's numbers for one day and one investor group, the single function its figure calls.

A stock's net is the group's net buying (KRW); "total" is foreign + institution, the smart-money flow the
rotation signal uses. Intensity is net / market cap in basis points. A sector's box is the sum of its
member stocks' caps (the treemap's parent must hold its children); its flow and intensity come from
sector_rotation where sector_money_flow stored a row for the day, else from its member stocks (`source`
says which), so a day the analytics have not run for yet still shows every sector.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

BP = 1e4
STOCK_NET_COLUMNS = {
    "foreign": "foreign_net_value",
    "institution": "institution_net_value",
    "individual": "retail_net_value",
}
SMART_MONEY = ("foreign", "institution")  # what "total" adds up


@dataclass(frozen=True)
class SectorMap:
    stocks: pd.DataFrame  # the input stocks with `net` and `intensity_bp`
    sectors: pd.DataFrame  # one row per sector: label, members, market_cap, net, intensity_bp, source, MFI


def _stock_net(stocks: pd.DataFrame, investor: str) -> pd.Series:
    if investor == "total":
        return stocks[[STOCK_NET_COLUMNS[g] for g in SMART_MONEY]].sum(axis=1, min_count=1)
    return stocks[STOCK_NET_COLUMNS[investor]]


def _sector_flow(rotation: pd.DataFrame, investor: str) -> pd.Series:
    if investor == "total":
        return rotation["foreign_flow"].add(rotation["institution_flow"], fill_value=0)
    return rotation[f"{investor}_flow"]


def sector_map(stocks: pd.DataFrame, rotation: pd.DataFrame, investor: str) -> SectorMap:
    """`stocks`: the day's member stocks (symbol, sector_code, sector_name, market, market_cap and the
    groups' *_net_value); `rotation`: the day's sector_rotation rows (possibly none); `investor`: foreign,
    institution, individual or total."""
    stocks = stocks.assign(net=_stock_net(stocks, investor))
    stocks["intensity_bp"] = stocks["net"] / stocks["market_cap"] * BP
    sectors = (
        stocks.groupby("sector_code", sort=True)
        .agg(
            sector_name=("sector_name", "first"),
            market=("market", lambda m: m.mode().iat[0]),
            members=("symbol", "size"),
            market_cap=("market_cap", "sum"),
            stock_net=("net", lambda n: n.sum(min_count=1)),
        )
        .reset_index()
    )
    rotation = rotation.set_index("sector_code")
    known = sectors["sector_code"].isin(rotation.index)
    sectors["net"] = sectors["stock_net"].where(
        ~known, sectors["sector_code"].map(_sector_flow(rotation, investor))
    )
    cap = sectors["market_cap"].where(~known, sectors["sector_code"].map(rotation["market_cap"]))
    sectors["intensity_bp"] = sectors["net"] / cap * BP
    sectors["source"] = known.map({True: "sector_rotation", False: "member stocks"})
    sectors["money_flow_index"] = sectors["sector_code"].map(rotation["money_flow_index"])
    sectors["label"] = sectors["sector_name"] + " (" + sectors["market"] + ")"
    return SectorMap(stocks, sectors)
