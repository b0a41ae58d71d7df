"""The sector map's numbers: sector_rotation's flow where it has the sector, the member stocks' sum else."""

from __future__ import annotations

import pandas as pd
import pytest

from kis_intel_assets.analytics.sector_map import sector_map

STOCKS = pd.DataFrame(
    {
        "symbol": ["000010", "000020", "000030"],
        "sector_code": ["S1", "S1", "S2"],
        "sector_name": ["철강", "철강", "은행"],
        "market": ["KOSPI", "KOSPI", "KOSDAQ"],
        "market_cap": [1e12, 3e12, 2e12],
        "foreign_net_value": [1e9, 3e9, -2e9],
        "institution_net_value": [2e9, None, 4e9],
        "retail_net_value": [-3e9, -3e9, -2e9],
    }
)
ROTATION = pd.DataFrame(
    {
        "sector_code": ["S1"],
        "market_cap": [4.4e12],
        "foreign_flow": [5e9],
        "institution_flow": [1e9],
        "individual_flow": [-6e9],
        "money_flow_index": [61.5],
    }
)


def test_a_sector_with_a_sector_rotation_row_takes_its_flow_and_cap_for_intensity() -> None:
    numbers = sector_map(STOCKS, ROTATION, "total")
    s1 = numbers.sectors.set_index("sector_code").loc["S1"]
    assert s1["source"] == "sector_rotation"
    assert s1["net"] == 6e9 and s1["market_cap"] == 4e12  # box: the members' caps
    assert s1["intensity_bp"] == pytest.approx(6e9 / 4.4e12 * 1e4)
    assert s1["money_flow_index"] == 61.5 and s1["label"] == "철강 (KOSPI)" and s1["members"] == 2


def test_a_sector_without_one_adds_up_its_member_stocks() -> None:
    numbers = sector_map(STOCKS, ROTATION, "foreign")
    s2 = numbers.sectors.set_index("sector_code").loc["S2"]
    assert s2["source"] == "member stocks"
    assert s2["net"] == -2e9 and s2["intensity_bp"] == pytest.approx(-2e9 / 2e12 * 1e4)
    assert pd.isna(s2["money_flow_index"])


def test_stocks_carry_the_groups_net_and_intensity_and_the_input_is_left_alone() -> None:
    numbers = sector_map(STOCKS, ROTATION.iloc[0:0], "total")
    assert list(numbers.stocks["net"]) == [3e9, 3e9, 2e9]  # a missing group counts as none
    assert list(numbers.stocks["intensity_bp"]) == pytest.approx([30.0, 10.0, 10.0])
    assert set(numbers.sectors["source"]) == {"member stocks"}
    assert "net" not in STOCKS.columns
