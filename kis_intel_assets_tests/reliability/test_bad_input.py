"""Bad input at each boundary gets one clear line naming the bad value, and nothing is written.

Covered here: CLI arguments, environment variables, partition keys and ranges outside the KRX calendar.
A bad variable read while the definitions load, under the Dagster CLI: test_deterministic_failures.py.
Covered elsewhere (not repeated): API payloads — kis/test_client_faults.py
(test_corrupted_field_is_an_error_never_a_number), kis/test_registry_parsing.py and, through Dagster,
defs/ingest/test_ingest_assets.py (test_a_bad_field_fails_the_blocking_check_and_writes_nothing); replay
CSVs — simulator/test_faults_replay_cli.py (test_replay_errors_name_file_line_and_column); web query
parameters — pages/test_http.py (test_a_bad_parameter_gets_a_one_line_400_naming_it).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kis_intel_assets.cli import main as kis_intel
from kis_intel_assets.defs.ingest.assets import daily_prices
from kis_intel_assets.defs.partitions import partition_start
from kis_intel_assets.defs.resources import (
    DatabaseResource,
    KISResource,
    kiwoom_budget_from_env,
    rate_limit_from_env,
)
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.simulator.cli import run_simulator_cli

pytestmark = pytest.mark.faults


def error_line(captured: str) -> str:
    """The one line a user reads; a traceback instead of it fails the test."""
    assert "Traceback" not in captured, captured
    lines = captured.strip().splitlines()
    assert lines, "no error was printed"
    return lines[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--days", "0"], "--days: must be a whole number from 1 to 2500, got '0'"),
        (["demo", "--symbols", "many"], "--symbols: must be a whole number from 4 to 5000, got 'many'"),
        (["demo", "--rate-limit", "-3"], "--rate-limit: must be a number of requests/s above 0"),
    ],
)
def test_kis_intel_arguments(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        kis_intel(argv)
    assert exit_info.value.code == 2
    assert expected in error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--symbols", "2"], "got 2"),
        (["--rate-limit", "0"], "rate_limit_per_sec must be above 0 and at most 1000, got 0.0"),
        (["--port", "70000"], "--port must be within 0..65535, got 70000"),
        (["--faults", "http5xx=2"], "'http5xx=2' must be within [0, 1]"),
    ],
)
def test_simulator_arguments(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_simulator_cli(argv) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith("kis-intel simulator: error:") and expected in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://admin:hunter2@db.example/kis", "KIS_INTEL_DATABASE_URL must be a postgresql:// URL"),
        ("postgresql://postgres@127.0.0.1:1/nowhere", "cannot connect to database 127.0.0.1:1/nowhere"),
    ],
)
def test_db_migrate_with_a_bad_database_url(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIS_INTEL_DATABASE_URL", url)
    assert kis_intel(["db", "migrate"]) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith("kis-intel: error:") and expected in line
    assert "hunter2" not in line  # the password never shows, even in the error


@pytest.mark.parametrize("raw", ["abc", "-5", "0", "inf", "nan"])
def test_a_bad_rate_limit_variable_is_named(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"KIS_RATE_LIMIT_PER_SEC .* got '{raw}'"):
        rate_limit_from_env({"KIS_RATE_LIMIT_PER_SEC": raw})
    assert rate_limit_from_env({"KIS_RATE_LIMIT_PER_SEC": " 12.5 "}) == 12.5
    assert rate_limit_from_env({}) is None


@pytest.mark.parametrize(
    "name", ["KIWOOM_RATE_LIMIT_PER_SEC", "KIWOOM_TOTAL_RATE_LIMIT_PER_SEC", "KIWOOM_RATE_LIMIT_SCOPE"]
)
def test_a_bad_kiwoom_budget_variable_is_named(name: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} .* got 'fast'"):
        kiwoom_budget_from_env({name: "fast"})


def test_kiwoom_budget_variables_reach_the_client_config(database_url: str) -> None:
    environ = {
        "KIWOOM_RATE_LIMIT_PER_SEC": "3",
        "KIWOOM_RATE_LIMIT_SCOPE": "per_key",
        "KIWOOM_TOTAL_RATE_LIMIT_PER_SEC": "8",
    }
    budget = kiwoom_budget_from_env(environ)
    assert budget == {
        "kiwoom_rate_limit_per_sec": 3.0,
        "kiwoom_total_rate_limit_per_sec": 8.0,
        "kiwoom_rate_limit_scope": "per_key",
    }
    assert kiwoom_budget_from_env({}) == {}
    keys = {"app_key": "k", "app_secret": "s", "kiwoom_app_key": "kw", "kiwoom_app_secret": "kws"}
    resource = KISResource(**keys, database=DatabaseResource(url=database_url), **budget)
    config = resource.kiwoom_config()
    assert (config.rate_limit_per_sec, config.rate_limit_scope, config.total_rate_limit_per_sec) == (
        3.0,
        "per_key",
        8.0,
    )
    with pytest.raises(ValueError, match="rate_limit_scope must be"):
        KISResource(
            **keys, database=DatabaseResource(url=database_url), kiwoom_rate_limit_scope="per_minute"
        ).kiwoom_config()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2023-13-01", "must be a date like 2023-01-02, got '2023-13-01'"), ("1999-01-04", "is before the KRX")],
)
def test_a_bad_partition_start_stops_the_demo_before_it_writes(
    raw: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KIS_INTEL_PARTITION_START", raw)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("KIS_INTEL_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/never-reached")
    with pytest.raises(ConfigurationError, match="KIS_INTEL_PARTITION_START"):
        partition_start()
    assert kis_intel(["demo", "--days", "3"]) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith("kis-intel: error: KIS_INTEL_PARTITION_START") and expected in line


@pytest.fixture
def offline_resources(database_url: str) -> dict[str, object]:
    """KIS points at a closed port: a refused partition must fail before any request or write."""
    database = DatabaseResource(url=database_url)
    kis = KISResource(app_key="k", app_secret="s", database=database, base_url="http://127.0.0.1:9")
    return {"database": database, "kis": kis}


@pytest.mark.parametrize("key", ["2025-06-07", "2022-12-30", "2025-06-06"])  # Saturday, before start, holiday
def test_dagster_refuses_a_partition_key_outside_the_calendar(
    key: str, offline_resources: dict[str, object]
) -> None:
    with pytest.raises(dg.DagsterUnknownPartitionError, match=f"`{key}`"):
        dg.materialize([daily_prices], resources=offline_resources, partition_key=key)


@pytest.mark.parametrize(
    ("start", "end", "bad"),
    [("2025-06-07", "2025-06-10", "2025-06-07"), ("2022-12-28", "2023-01-03", "2022-12-28")],
)
def test_a_range_ending_outside_the_calendar_fails_before_anything_is_fetched(
    start: str, end: str, bad: str, offline_resources: dict[str, object], database_url: str
) -> None:
    result = dg.materialize(
        [daily_prices],
        resources=offline_resources,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert f"{bad!r} is not a KRX trading-day partition" in message
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM daily_prices").fetchone() == (0,)
