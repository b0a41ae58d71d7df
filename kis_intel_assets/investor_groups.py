"""Investor groups as KIS reports them, shared by the client, the simulator, the schemas and analytics.

KIS field prefixes map to our column prefixes; `institution` (기관계) is the total of its sub-groups and
`other` (기타) is other_corporation + other_organization, so foreign + retail (개인) + institution + other
nets to zero per stock-day.
"""

from __future__ import annotations

KIS_PREFIX_TO_GROUP: dict[str, str] = {
    "frgn": "foreign",
    "prsn": "retail",
    "orgn": "institution",
    "scrt": "securities",
    "ivtr": "investment_trust",
    "pe_fund": "private_fund",
    "bank": "bank",
    "insu": "insurance",
    "mrbn": "merchant_bank",
    "fund": "pension_fund",
    "etc": "other",
    "etc_corp": "other_corporation",
    "etc_orgt": "other_organization",
}
INVESTOR_GROUPS: tuple[str, ...] = tuple(KIS_PREFIX_TO_GROUP.values())
INSTITUTION_SUBGROUPS: tuple[str, ...] = (
    "securities",
    "investment_trust",
    "private_fund",
    "bank",
    "insurance",
    "merchant_bank",
    "pension_fund",
)
OTHER_SUBGROUPS: tuple[str, ...] = ("other_corporation", "other_organization")
ZERO_SUM_GROUPS: tuple[str, ...] = ("foreign", "retail", "institution", "other")
FLOW_SIDES: tuple[str, ...] = ("buy", "sell", "net")


def flow_column(group: str, side: str, unit: str) -> str:
    """The investor_trends column of a group's buy/sell/net: RFC-010 names shares bare (`foreign_buy`)
    and KRW with `_value` (`foreign_buy_value`); `unit` is "qty" or "value"."""
    if unit not in ("qty", "value"):
        raise ValueError(f"unit must be 'qty' or 'value', got {unit!r}")
    return f"{group}_{side}" if unit == "qty" else f"{group}_{side}_value"
