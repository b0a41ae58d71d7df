"""`kis-intel discover` against the simulator: the recorded schema, the registry diff and its exit status.

The shipped baseline was recorded against the simulator, so a fault-free simulator shows no drift at all;
a registered field removed by the simulator's bad_field fault must be reported as breaking drift naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kis_intel_assets.discover_cli import run_discover_cli
from kis_intel_assets.kis import ENDPOINTS
from kis_intel_assets.kis.discovery import SAMPLE_PARAMS, is_breaking, registry_drift
from kis_intel_assets.kis.schema import field_type, response_schema
from kis_intel_assets.simulator import FaultSpec, running_simulator
from kis_intel_assets_tests.support.kis_market import sim_config

DAY = "2025-03-14"
SECRET = "discover-secret-value"


# ##### FIXTURES


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, app_key: str) -> Iterator[str]:
    monkeypatch.setenv("KIS_APP_KEY", app_key)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)
    yield app_key


def discover(server: Any, database_url: str, output: Path, *extra: str) -> int:
    symbol = server.truth.symbols()[0]
    return run_discover_cli(
        [
            "--base-url",
            server.base_url,
            "--master-base-url",
            server.master_base_url,
            "--symbol",
            symbol,
            "--date",
            DAY,
            "--database-url",
            database_url,
            "--output",
            str(output),
            *extra,
        ]
    )


# ##### TESTS


def test_every_registered_endpoint_has_sample_parameters() -> None:
    assert set(SAMPLE_PARAMS) == set(ENDPOINTS)


def test_field_types_are_inferred_from_the_string_values() -> None:
    assert field_type("stck_bsop_date", ["20250314", "20250313"]) == "date"
    assert field_type("bsop_hour", ["153000", "090000"]) == "time"
    assert field_type("acml_vol", ["153000", "090000"]) == "int"  # six digits without a time name
    assert field_type("acml_vol", ["20250314", "1234"]) == "int"  # a date-looking number among ints
    assert field_type("prdy_ctrt", ["-1.25", "3"]) == "decimal"
    assert field_type("hts_kor_isnm", ["삼성전자", "12"]) == "text"
    assert field_type("lstg_abol_dt", ["", ""]) == "empty"


def test_the_simulator_matches_the_registry_and_the_baseline(
    sim: Any, database_url: str, credentials: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "schema.json"
    assert discover(sim, database_url, output) == 0

    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["breaking"] == []
    assert set(document["endpoints"]) == set(ENDPOINTS)
    for tr_id, entry in document["endpoints"].items():
        endpoint = ENDPOINTS[tr_id]
        assert entry["status"] == "ok", (tr_id, entry)
        rows = entry["outputs"][endpoint.rows_key]
        assert rows["shape"] == ("list" if endpoint.is_list else "object"), tr_id
        derived = [spec.source for spec in endpoint.fields if spec.source not in rows["fields"]]
        assert all(spec.sum_of for spec in endpoint.fields if spec.source in derived), tr_id
        assert entry["drift"] == {
            "shape": None,
            "missing": [],
            "changed": [],
            "new": [],
            "removed": [],
            "derived": derived,
        }
    # Documented nowhere, so not served: the client adds arbitrage and non-arbitrage (docs/kis_protocol.md §3)
    program_drift = document["endpoints"]["FHPPG04600001"]["drift"]
    assert program_drift["derived"] == ["whol_smtn_ntby_qty", "whol_smtn_ntby_tr_pbmn"]
    prices = document["endpoints"]["FHKST03010100"]["outputs"]
    assert prices["output2"]["fields"]["stck_bsop_date"] == "date"
    assert prices["output2"]["fields"]["stck_clpr"] == "int"
    assert prices["output1"]["shape"] == "object"
    assert all(m["status"] == "ok" and m["common_stocks"] > 0 for m in document["masters"].values())
    printed = capsys.readouterr().out
    assert "no breaking drift" in printed
    for text in (printed, output.read_text(encoding="utf-8")):
        assert SECRET not in text and credentials not in text


def test_a_missing_registered_field_is_breaking_drift_that_names_it(
    database_url: str, credentials: str, tmp_path: Path
) -> None:
    # seed 7 makes the simulator drop the registered acml_tr_pbmn from the first row
    faults = FaultSpec.parse("bad_field@FHPST04830000=1", seed=7)
    with running_simulator(sim_config(faults=faults), host="127.0.0.1", port=0) as server:
        output = tmp_path / "schema.json"
        assert discover(server, database_url, output) == 1
        # the first call is the schema sample; the paging probe's calls follow it
        record = next(r for r in server.stats.requests(credentials, "FHPST04830000") if r.fault)

    field, effect = str(record.fault_detail).split(":")
    assert effect == "missing" and field in {spec.source for spec in ENDPOINTS["FHPST04830000"].fields}
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["breaking"] == ["FHPST04830000"]
    assert document["endpoints"]["FHPST04830000"]["drift"]["missing"] == [field]


def test_a_registered_field_that_no_longer_parses_is_a_changed_type() -> None:
    endpoint = ENDPOINTS["FHPST04830000"]
    row = {spec.source: "20250314" if spec.kind.value == "date" else "12" for spec in endpoint.fields}
    body = {"output2": [row, {**row, "ssts_cntg_qty": "1.5"}, {**row, "ssts_cntg_qty": "12a3"}]}

    drift = registry_drift(endpoint, body, response_schema(body), baseline={})

    assert drift["missing"] == [] and drift["shape"] is None
    assert drift["changed"] == [
        {
            "field": "ssts_cntg_qty",
            "registered": "int",
            "observed": "text",
            "problem": "not an integer: '1.5'",
        }
    ]
    assert is_breaking({"status": "ok", "drift": drift})
    assert registry_drift(endpoint, {"output2": row}, response_schema({"output2": row}), {})["shape"] == (
        "output2 should be a list, found object"
    )


def test_new_fields_are_reported_without_failing(
    sim: Any, database_url: str, credentials: str, tmp_path: Path
) -> None:
    empty_baseline = tmp_path / "baseline.json"
    empty_baseline.write_text(json.dumps({"endpoints": {}}), encoding="utf-8")
    output = tmp_path / "schema.json"

    assert discover(sim, database_url, output, "--baseline", str(empty_baseline)) == 0

    drift = json.loads(output.read_text(encoding="utf-8"))["endpoints"]["CTPF1002R"]["drift"]
    assert {"tr_stop_yn", "kospi200_item_yn"} <= set(drift["new"])
    assert not drift["missing"] and not drift["changed"]


def test_paper_mode_skips_real_only_endpoints(database_url: str, credentials: str, tmp_path: Path) -> None:
    with running_simulator(sim_config(paper=True), host="127.0.0.1", port=0) as server:
        output = tmp_path / "schema.json"
        assert discover(server, database_url, output, "--paper") == 0

    endpoints = json.loads(output.read_text(encoding="utf-8"))["endpoints"]
    for tr_id, endpoint in ENDPOINTS.items():
        assert endpoints[tr_id]["status"] == ("ok" if endpoint.paper else "skipped"), tr_id


def test_missing_credentials_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KIS_APP_KEY", raising=False)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)
    assert run_discover_cli(["--output", str(tmp_path / "schema.json")]) == 2
    assert "KIS_APP_KEY" in capsys.readouterr().err
    assert not (tmp_path / "schema.json").exists()


@pytest.mark.parametrize(("style", "expected"), [("short", "one page"), ("repeat", "repeat")])
def test_discover_records_the_paging_kis_uses(
    database_url: str, credentials: str, tmp_path: Path, style: str, expected: str
) -> None:
    """What is unknown about live KIS is recorded when a user runs discover with real keys: paging style
    and page size per date-ranged TR, history limits, publication time, and KIS's calendar vs ours."""
    with running_simulator(sim_config(paging_style=style, rate_limit_per_sec=200)) as server:
        output = tmp_path / "schema.json"
        assert discover(server, database_url, output) == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    paging = document["live_behaviour"]["paging"]
    assert set(paging) == {tr_id for tr_id, endpoint in ENDPOINTS.items() if endpoint.cursor}
    assert paging["FHPST04830000"]["style"] == expected and paging["FHPST04830000"]["page_size"] == 100
    assert paging["FHKST03010100"]["style"] == "one page"  # never pages: the client moves DATE_2
    assert paging["FHPTJ04160001"]["first_page"]["newest"] == DAY.replace("-", "")
    history = document["live_behaviour"]["history"]["FHPPG04600001"]
    assert set(history) == {"240_days_back", "270_days_back", "400_days_back"}
    assert all(entry["status"] in ("ok", "refused") for entry in history.values())
    publication = document["live_behaviour"]["publication"]
    assert publication["asked_at_kst"].endswith("+09:00") and publication["FHPTJ04160001"]["status"] == "ok"
    assert document["calendar"]["status"] == "ok" and document["calendar"]["checked"] == 61
