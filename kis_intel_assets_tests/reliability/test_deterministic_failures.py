"""Failures no retry can fix fail at once, in one line: a reversed partition range, missing upstream data
and a bad variable under the Dagster CLI; `kis-intel discover` reads the same endpoint variables as the
assets. Before: the range and the empty stock_master waited out the 30 s step retry (the range then ended
in a traceback from the client), the CLI printed 76–141 traceback lines, and discover called real KIS.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import daily_prices
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.discover_cli import run_discover_cli
from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.support.simulators import dagster_materialize_command

pytestmark = pytest.mark.faults

# Well below the ingest assets' RetryPolicy delay (30 s): a retried step cannot finish inside it.
AT_ONCE_SECONDS = 20.0


@pytest.fixture
def offline_resources(database_url: str) -> dict[str, object]:
    """KIS points at a closed port: these failures must come before any request."""
    database = DatabaseResource(url=database_url)
    kis = KISResource(app_key="k", app_secret="s", database=database, base_url="http://127.0.0.1:9")
    return {"database": database, "kis": kis}


def failed_at_once(**materialize: object) -> str:
    started = time.monotonic()
    result = dg.materialize([daily_prices], raise_on_error=False, **materialize)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert elapsed < AT_ONCE_SECONDS, elapsed
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "Traceback" not in message
    return message


def test_a_reversed_partition_range_fails_at_once_naming_it(offline_resources: dict[str, object]) -> None:
    tags = {
        "dagster/asset_partition_range_start": "2025-06-10",
        "dagster/asset_partition_range_end": "2025-06-02",
    }
    message = failed_at_once(resources=offline_resources, tags=tags)
    assert "partition range 2025-06-10...2025-06-02 is reversed" in message


def test_an_empty_stock_master_fails_without_the_step_retry(offline_resources: dict[str, object]) -> None:
    message = failed_at_once(resources=offline_resources, partition_key="2025-06-02")
    assert "stock_master is empty: materialize stock_universe first" in message


def test_bad_variables_under_the_dagster_cli_are_one_line(database_url: str, tmp_path: Path) -> None:
    cases = {
        "KIS_RATE_LIMIT_PER_SEC": ("fast", "KIS_RATE_LIMIT_PER_SEC must be a number from 0.1 to 100"),
        "KIS_INTEL_PARTITION_START": ("2023/01/02", "KIS_INTEL_PARTITION_START must be a date"),
    }
    base = {"KIS_INTEL_DATABASE_URL": database_url, "PYTHONWARNINGS": "ignore"}
    homes = {name: tmp_path / name for name in cases}  # one each: two CLIs on one SQLite home race
    for home in homes.values():
        home.mkdir()
        # Without this file Dagster prints a note on it and a telemetry banner of its own.
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    processes = {
        name: subprocess.Popen(
            dagster_materialize_command("daily_prices", "--partition", "2025-06-02"),
            env={**os.environ, **base, "DAGSTER_HOME": str(homes[name]), name: value},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (value, _) in cases.items()
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=180)
        value, expected = cases[name]
        assert process.returncode != 0
        assert "Traceback" not in out + err, out + err
        # Our one line; Dagster may add notes of its own (warnings are off, telemetry too).
        (line,) = [line for line in (out + err).splitlines() if line.startswith("kis-intel: error:")]
        assert line.startswith(f"kis-intel: error: {expected}") and repr(value) in line, out + err


def test_discover_calls_the_server_the_assets_call(
    simulator: Simulator, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "discover-env-key")
    monkeypatch.setenv("KIS_APP_SECRET", "discover-env-secret")
    monkeypatch.setenv("KIS_BASE_URL", simulator.base_url)
    monkeypatch.setenv("KIS_MASTER_BASE_URL", simulator.master_base_url)
    output = tmp_path / "schema.json"
    symbol = simulator.truth.symbols()[0]
    argv = [
        "--symbol",
        symbol,
        "--date",
        "2025-03-14",
        "--database-url",
        database_url,
        "--output",
        str(output),
    ]

    assert run_discover_cli([*argv, "--output", str(output)]) == 0
    assert len(simulator.stats.requests("discover-env-key")) > 0
    assert json.loads(output.read_text(encoding="utf-8"))["breaking"] == []
