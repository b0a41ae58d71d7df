"""Schema drift seen during ingestion: the client counts unexpected and missing row fields per TR ID, and
the non-blocking `schema_drift` check turns them into a warning without failing the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.drift import SCHEMA_DRIFT_CHECK, schema_drift_result, schema_drift_spec
from kis_intel_assets.defs.resources import KISResource
from kis_intel_assets.kis import ENDPOINTS
from kis_intel_assets.kis.drift import SchemaDrift
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets_tests.support.simulators import simulator_resources

DAY = date(2025, 6, 2)
PRICES = ENDPOINTS["FHKST03010100"]


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    config = SimulatorConfig(
        seed=5, n_symbols=6, start=date(2025, 1, 2), end=date(2025, 6, 30), rate_limit_per_sec=100.0
    )
    with running_simulator(config) as sim:
        yield sim


def probe_asset(simulator: Simulator, baseline: dict | None) -> dg.AssetsDefinition:
    """An ingest-shaped asset: fetch with the client, report the drift it saw as the check result."""

    @dg.asset(name="probe", check_specs=[schema_drift_spec("probe")])
    def probe(kis: KISResource) -> dg.MaterializeResult:
        with kis.client() as client:
            if baseline is not None:
                client.transport.schema_drift = SchemaDrift(
                    baseline
                )  # judge the same rows against another baseline
            for symbol in simulator.truth.symbols():
                client.daily_prices(symbol, DAY, DAY)
            return dg.MaterializeResult(check_results=[schema_drift_result(client)])

    return probe


def run_probe(simulator: Simulator, database_url: str, baseline: dict | None) -> dg.AssetCheckEvaluation:
    resources = simulator_resources(
        simulator, database_url, f"drift-{uuid.uuid4().hex}", "drift-secret", rate_limit_per_sec=100.0
    )
    result = dg.materialize([probe_asset(simulator, baseline)], resources={"kis": resources["kis"]})
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == SCHEMA_DRIFT_CHECK
    return evaluation


def test_known_fields_pass_the_check(simulator: Simulator, database_url: str) -> None:
    evaluation = run_probe(simulator, database_url, baseline=None)
    assert evaluation.passed
    assert evaluation.metadata["rows_observed"].value == len(simulator.truth.symbols())


def test_unknown_fields_warn_without_failing_the_run(simulator: Simulator, database_url: str) -> None:
    evaluation = run_probe(simulator, database_url, baseline={})

    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    drift = evaluation.metadata["drift"].value
    rows = len(simulator.truth.symbols())
    assert drift["FHKST03010100"]["new"] == dict.fromkeys(["prdy_vrss_sign", "prtt_rate"], rows)
    assert drift["FHKST03010100"]["missing"] == {}
    assert "FHKST03010100: new prdy_vrss_sign" in (evaluation.description or "")


def test_rows_lacking_registered_fields_are_counted() -> None:
    drift = SchemaDrift()
    full = {spec.source: "1" for spec in PRICES.fields}
    without_volume = {k: v for k, v in full.items() if k != "acml_vol"}
    drift.observe(PRICES, [full, without_volume, {**full, "new_fld": "x"}])
    other = SchemaDrift()
    other.observe(PRICES, [without_volume, "not a row"])
    drift.merge(other)

    assert drift.report() == {"FHKST03010100": {"rows": 4, "new": {"new_fld": 1}, "missing": {"acml_vol": 2}}}
    assert set(drift.drifted()) == {"FHKST03010100"}
