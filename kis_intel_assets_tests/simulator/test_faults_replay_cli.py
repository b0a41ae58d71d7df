"""Fault injection, CSV replay and the CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from kis_intel_assets.simulator import FaultSpec, ReplayDataError, Simulator, SimulatorConfig
from kis_intel_assets.simulator.cli import run_simulator_cli
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets_tests.simulator.kis_http import KisHttp

Factory = Callable[..., Simulator]
SPEC = "http5xx=0.15,egw00201_200=0.1,egw00201_500=0.1,malformed=0.1,truncated=0.1,bad_field=0.1,drop=0.05"


def _outcome(kis: KisHttp, symbol: str) -> str:
    try:
        response = kis.get(
            "FHPPG04650201", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": ""}
        )
    except httpx.TransportError:
        return "transport-error"
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"{response.status_code}:not-json"
    return f"{response.status_code}:{body.get('msg_cd')}:{len(json.dumps(body))}"


def test_faults_are_reproducible_and_counted(simulator_factory: Factory) -> None:
    outcomes, counts = [], []
    for _ in range(2):
        sim = simulator_factory(n_symbols=6, faults=FaultSpec.parse(SPEC, seed=3))
        kis = KisHttp(sim).login()
        symbol = sim.truth.symbols()[0]
        outcomes.append([_outcome(kis, symbol) for _ in range(40)])
        counts.append(sim.stats.fault_counts)
    assert outcomes[0] == outcomes[1] and counts[0] == counts[1]
    assert sum(counts[0].values()) == sum(1 for r in sim.stats.requests() if r.fault)
    assert len(counts[0]) >= 4
    assert any(o.endswith("not-json") for o in outcomes[0])
    assert any(o.startswith("200:EGW00201") for o in outcomes[0]) or "egw00201_200" not in counts[0]


def test_targeted_bad_field_and_runtime_fault_changes(simulator_factory: Factory) -> None:
    sim = simulator_factory(n_symbols=6)
    symbol, other = sim.truth.symbols()[:2]
    sim.set_faults(FaultSpec.parse(f"bad_field@FHPST04830000:{symbol}=1", seed=1))
    kis = KisHttp(sim).login()
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_DATE_1": "20250601", "FID_INPUT_DATE_2": "20250630"}
    for _ in range(3):
        row = kis.get("FHPST04830000", {**params, "FID_INPUT_ISCD": symbol}).json()["output2"][0]
        record = sim.stats.requests(kis.app_key)[-1]
        field, problem = record.fault_detail.split(":")
        assert (field not in row) if problem == "missing" else not row[field].lstrip("-").isdigit()
    clean, _ = kis.ok("FHPST04830000", {**params, "FID_INPUT_ISCD": other})
    assert all(
        v.replace(".", "").lstrip("-").isdigit()
        for k, v in clean["output2"][0].items()
        if k != "stck_bsop_date"
    )
    assert sim.stats.fault_counts == {"bad_field": 3}
    sim.set_faults(FaultSpec.parse("token_expiry=1", seed=1))
    kis.ok("FHPST04830000", {**params, "FID_INPUT_ISCD": other})
    assert kis.get("FHPST04830000", {**params, "FID_INPUT_ISCD": other}).json()["msg_cd"] == "EGW00123"


def test_fault_spec_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        FaultSpec.parse("explode=0.1")
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        FaultSpec.parse("http5xx=2")
    spec = FaultSpec.parse("http5xx=0.02, bad_field@FHPST04830000:005930=1", seed=4)
    assert str(spec) == "http5xx=0.02,bad_field@FHPST04830000:005930=1" and spec.seed == 4


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "prices.csv").write_text(text, encoding="utf-8")
    return tmp_path


def test_replay_round_trip(simulator_factory: Factory, tmp_path: Path) -> None:
    rows = ["date,symbol,close,volume,open,market,sector,name"]
    closes = [10000, 10150, 9990, 10200]
    for i, day in enumerate(("2025-06-24", "2025-06-25", "2025-06-26", "2025-06-27")):
        rows.append(
            f"{day},123450,{closes[i]},{1000 + i},{closes[i - 1] if i else 10000},KOSDAQ,1072,테스트전자"
        )
        rows.append(f"{day.replace('-', '')},543210,{5000 + 10 * i},{500 + i},,,,")
    sim = simulator_factory(replay_dir=_write(tmp_path, "\n".join(rows) + "\n"))
    kis = KisHttp(sim).login()
    body, _ = kis.ok(
        "FHKST03010100",
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "123450",
            "FID_INPUT_DATE_1": "20250601",
            "FID_INPUT_DATE_2": "20250630",
            "FID_PERIOD_DIV_CODE": "D",
            "FID_ORG_ADJ_PRC": "0",
        },
    )
    assert [int(r["stck_clpr"]) for r in body["output2"]] == closes[::-1]
    assert [int(r["acml_vol"]) for r in body["output2"]] == [1003, 1002, 1001, 1000]
    master = sim.truth.stock_master().set_index("symbol")
    assert master.loc["123450", "sector_code"] == "1072" and master.loc["123450", "name"] == "테스트전자"
    flows = sim.truth.investor_trends(date(2025, 6, 24), date(2025, 6, 27), ["543210"])
    assert len(flows) == 4 and (flows["foreign_buy"] + flows["retail_buy"] > 0).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,symbol,close\n2025-06-24,123450,100\n", r"prices.csv:1: missing required column\(s\) volume"),
        (
            "date,symbol,close,volume\n2025-06-24,123450,100,5\n2025-13-01,123450,100,5\n",
            r"prices.csv:3: column 'date'",
        ),
        (
            "date,symbol,close,volume\n2025-06-24,123450,1o0,5\n",
            r"prices.csv:2: column 'close': '1o0' is not an integer",
        ),
        ("date,symbol,close,volume,sector\n2025-06-24,123450,100,5,9999\n", r"prices.csv:2: column 'sector'"),
    ],
)
def test_replay_errors_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ReplayDataError, match=message):
        MarketModel(SimulatorConfig(replay_dir=_write(tmp_path, text)))


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_simulator_cli(["--port", "notaport"]) == 2
    assert run_simulator_cli(["--faults", "explode=1"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("kis-intel simulator: error:") for line in errors)
    assert "explode" in errors[1]
