"""Investor groups as KIS reports them, shared by the client, the simulator, the schemas and analytics.

KIS field prefixes map to our column prefixes; `institution` (기관계) is the total of its sub-groups and
`other` (기타) is other_corporation + other_organization, so foreign + individual + institution + other
nets to zero per stock-day.
"""

from __future__ import annotations

KIS_PREFIX_TO_GROUP: dict[str, str] = {
    "frgn": "foreign",
    "prsn": "individual",
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
ZERO_SUM_GROUPS: tuple[str, ...] = ("foreign", "individual", "institution", "other")
