"""Replay (issue 16, defect 5): appending rows never changes an earlier day's answers, recorded flows are
served as given, and episodes land only on sectors that have replayed members."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import ReplayDataError, SimulatorConfig
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.sectors import SECTORS
from kis_intel_assets.simulator.truth import GroundTruth

DAYS = trading_days(date(2024, 1, 2), date(2025, 1, 31))
CUT = 170  # the shorter file stops after this many days
KOSPI_SECTORS = [s.code for s in SECTORS if s.market == "KOSPI"][:2]
KOSDAQ_SECTORS = [s.code for s in SECTORS if s.market == "KOSDAQ"][:1]
# symbol: (market, sector or "" for a seeded one, first day index)
STOCKS = {
    "100010": ("KOSPI", KOSPI_SECTORS[0], 0), "100020": ("KOSPI", KOSPI_SECTORS[0], 0),
    "100030": ("KOSPI", KOSPI_SECTORS[1], 0), "100040": ("KOSPI", "", 0),
    "200010": ("KOSDAQ", KOSDAQ_SECTORS[0], 0), "200020": ("KOSDAQ", KOSDAQ_SECTORS[0], 20),
    "000001": ("KOSPI", KOSPI_SECTORS[1], CUT + 10),  # listed only in the appended rows, sorts first
}  # fmt: skip


def replay_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for symbol, (market, sector, first) in STOCKS.items():
        days = DAYS[first:]
        close = np.round(20_000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))).astype(int)
        volume = rng.integers(50_000, 900_000, len(days))
        frames.append(
            pd.DataFrame(
                {"date": days, "symbol": symbol, "close": close, "volume": volume, "market": market,
                 "sector": sector, "trading_value": close * volume}
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def model_of(tmp_path: Path, rows: pd.DataFrame, name: str) -> MarketModel:
    folder = tmp_path / name
    folder.mkdir()
    rows.to_csv(folder / "prices.csv", index=False)
    return MarketModel(SimulatorConfig(replay_dir=folder, seed=11))


def answers(model: MarketModel, last: date) -> dict[str, pd.DataFrame]:
    truth, first = GroundTruth(model), DAYS[0]
    symbols = [s for s in model.symbols() if s != "000001"]
    frames = {
        "daily_prices": truth.daily_prices(first, last, symbols),
        "investor_trends": truth.investor_trends(first, last, symbols),
        "short_selling": truth.short_selling(first, last, symbols),
        "program_trading": truth.program_trading(first, last, symbols),
        "program_trading_market": truth.program_trading_market(first, last),
        "stock_master": truth.stock_master().query("symbol != '000001'").reset_index(drop=True),
    }
    n = int(np.searchsorted(model.days, np.datetime64(last), "right"))
    for code in ("0001", "1001", KOSPI_SECTORS[0]):
        frames[f"index {code}"] = pd.DataFrame({k: v[:n] for k, v in model.factors.index_ohlcv(code).items()})
    return frames


def test_appending_rows_changes_no_earlier_answer(tmp_path: Path) -> None:
    rows = replay_rows()
    cut_day = DAYS[CUT - 1]
    short = model_of(tmp_path, rows[rows["date"] <= cut_day], "short")
    long = model_of(tmp_path, rows, "long")

    before, after = answers(short, cut_day), answers(long, cut_day)

    for name, frame in before.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(frame, after[name], obj=name)  # before issue 16: 98-99% differed
    earlier = GroundTruth(short).rotation_episodes()
    later = GroundTruth(long).rotation_episodes()
    assert len(earlier) >= 3
    finished = earlier[earlier["price_end"] < cut_day]
    pd.testing.assert_frame_equal(finished, later.iloc[: len(finished)])
    keys = ["sector_code", "direction", "flow_start", "price_start"]
    started = later[later["flow_start"] <= cut_day][keys].reset_index(drop=True)
    pd.testing.assert_frame_equal(earlier[keys], started)


def test_episodes_go_only_to_sectors_with_replayed_members(tmp_path: Path) -> None:
    model = model_of(tmp_path, replay_rows(), "all")
    member_sectors = {SECTORS[i].code for i in model.universe.initial_sector}

    episodes = GroundTruth(model).rotation_episodes()

    assert len(episodes) >= 5
    assert set(episodes["sector_code"]) <= member_sectors
    assert len(member_sectors) < len(SECTORS) // 4  # a few sectors of many: random choice would miss


def test_recorded_flows_are_served_as_given(tmp_path: Path) -> None:
    rows = replay_rows().query("symbol == '100010'").head(30).reset_index(drop=True)
    value = rows["trading_value"].to_numpy()
    recorded = pd.DataFrame(
        {
            "foreign_net_value": np.round(value * 0.12),
            "institution_net_value": np.round(-value * 0.07),
            "individual_net_value": np.round(-value * 0.04),
            "short_volume": rows["volume"] // 20,
            "short_value": value // 20,
            "program_net_value": np.round(value * 0.03),
        }
    ).astype("Int64")
    recorded.loc[5, ["foreign_net_value", "short_value", "program_net_value"]] = pd.NA  # not recorded
    model = model_of(tmp_path, pd.concat([rows, recorded], axis=1), "recorded")
    truth, days = GroundTruth(model), (rows["date"].iloc[0], rows["date"].iloc[-1])

    flows = truth.investor_trends(*days)
    shorts = truth.short_selling(*days)
    program = truth.program_trading(*days)

    given = recorded.drop(index=5)
    kept = flows.drop(index=5)
    # The recording's own column names (replay.py) against the table's (RFC-010: individual -> retail).
    for group, column in (("foreign", "foreign"), ("institution", "institution"), ("individual", "retail")):
        million = (given[f"{group}_net_value"].astype(float) / 1e6).round() * 1e6
        assert kept[f"{column}_net_value"].tolist() == million.tolist(), group
    assert (
        flows.loc[5, "institution_net_value"] == round(recorded.loc[5, "institution_net_value"] / 1e6) * 1e6
    )
    groups = ("foreign", "retail", "institution", "other")
    value_m = np.round(value / 1e6) * 1e6
    for side in ("buy", "sell"):
        assert sum(flows[f"{g}_{side}_value"] for g in groups).tolist() == value_m.tolist(), side
        assert sum(flows[f"{g}_{side}"] for g in groups).tolist() == rows["volume"].tolist(), side
    assert (flows[[f"{g}_{s}_value" for g in groups for s in ("buy", "sell")]] >= 0).all().all()
    assert shorts["short_volume"].tolist() == recorded["short_volume"].astype(int).tolist()
    assert shorts.drop(index=5)["short_amount"].tolist() == given["short_value"].astype(int).tolist()
    assert (
        program.drop(index=5)["program_net_value"].tolist() == given["program_net_value"].astype(int).tolist()
    )
    assert (program[["program_buy_value", "program_sell_value"]].max(axis=1) <= value).all()


def test_a_recorded_value_above_the_days_total_names_line_and_column(tmp_path: Path) -> None:
    rows = replay_rows().query("symbol == '100010'").head(5).reset_index(drop=True)
    rows["short_volume"] = rows["volume"] // 10
    rows.loc[3, "short_volume"] = rows.loc[3, "volume"] + 1

    with pytest.raises(
        ReplayDataError, match=r"prices.csv:5: column 'short_volume': \d+ exceeds the day's volume"
    ):
        model_of(tmp_path, rows, "bad")


def test_recorded_investor_nets_that_cannot_fit_the_days_value_are_refused(tmp_path: Path) -> None:
    rows = replay_rows().query("symbol == '100010'").head(5).reset_index(drop=True)
    rows["foreign_net_value"] = rows["trading_value"] // 10
    rows["institution_net_value"] = rows["trading_value"] // 10
    rows.loc[2, ["foreign_net_value", "institution_net_value"]] = rows.loc[2, "trading_value"] * 6 // 10

    with pytest.raises(
        ReplayDataError, match=r"prices.csv:4: column 'foreign_net_value/institution_net_value'"
    ):
        model_of(tmp_path, rows, "overfull")
