"""Numeric settings outside their range are one line naming them (a 10⁹ budget inserts nothing), and the
database password appears nowhere: not in any redacted URL form, the repository snapshot the webserver
gets, an unauthenticated GraphQL answer, DAGSTER_HOME after a failed run, a run-failure alert or /healthz."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pydantic
import pytest

from kis_intel_assets.alerts import run_failure_alert
from kis_intel_assets.defs.resources import KISResource, database_resource_from_env, rate_limit_from_env
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.kis import KISConfig
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.pages.cli import serving
from kis_intel_assets.storage import DatabaseTimeouts, redact_url
from kis_intel_assets_tests.support.processes import free_port
from kis_intel_assets_tests.support.simulators import dagster_materialize_command

PASSWORD = "S3cretPw"
SNAPSHOT_URL = f"postgresql://u:{PASSWORD}@127.0.0.1/db"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://u:{PASSWORD}@127.0.0.1:5432/db",
        f"postgres://u:{PASSWORD}@h1:1,h2:2/db?sslmode=require",
        f"postgresql://u@127.0.0.1/db?sslmode=disable&password={PASSWORD}",
        f"postgresql:///db?host=/run/pg&password={PASSWORD}",
        f"host=127.0.0.1 port=5432 dbname=db user=u password={PASSWORD}",
        f"host=127.0.0.1 password = '{PASSWORD} with space' dbname=db",
        f"PGPASSWORD={PASSWORD} psql -h 127.0.0.1",
        f"error: cannot use 'postgresql://u:{PASSWORD}@127.0.0.1/db': refused",
    ],
)
def test_every_form_of_database_password_is_redacted(text: str) -> None:
    # only the password goes (a quoted one with its quotes), everything else stays as it was
    assert redact_url(text) == text.replace(f"'{PASSWORD} with space'", "***").replace(PASSWORD, "***")


def test_the_pgpassword_value_is_redacted_wherever_it_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    assert redact_url(f"auth with {PASSWORD} failed") == "auth with *** failed"


def test_a_budget_beyond_what_kis_grants_fails_at_once_in_one_line_and_inserts_nothing(
    database_url: str,
) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as from_env:
        rate_limit_from_env({"KIS_RATE_LIMIT_PER_SEC": "1e9"})
    message = str(from_env.value)
    assert message.count("\n") == 0 and "KIS_RATE_LIMIT_PER_SEC" in message and "100" in message
    with pytest.raises(ValueError, match="at most 100"):
        KISConfig(app_key="k", app_secret="s", database_url=database_url, rate_limit_per_sec=1e9)
    with pytest.raises(ValueError, match="at most 100"):
        PostgresRateLimiter(database_url, "a" * 64, 1e9)
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 100"):
        KISResource(
            app_key="k", app_secret="s", database=database_resource_from_env({}), rate_limit_per_sec=1e9
        )
    assert time.monotonic() - started < 2.0
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT (SELECT count(*) FROM kis_rate_limit), (SELECT count(*) FROM kis_rate_limit_slot)"
        ).fetchone() == (0, 0)
    assert rate_limit_from_env({"KIS_RATE_LIMIT_PER_SEC": "18"}) == 18.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KIS_RATE_LIMIT_PER_SEC", "0"),
        ("KIS_RATE_LIMIT_PER_SEC", "nan"),
        ("KIS_INTEL_DB_CONNECT_TIMEOUT_SECONDS", "0"),
        ("KIS_INTEL_DB_CONNECT_TIMEOUT_SECONDS", "2.5"),
        ("KIS_INTEL_DB_STATEMENT_TIMEOUT_SECONDS", "99999"),
        ("KIS_INTEL_DB_STATEMENT_TIMEOUT_SECONDS", "ten"),
    ],
)
def test_numeric_settings_outside_their_range_are_one_line_naming_them(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        if name == "KIS_RATE_LIMIT_PER_SEC":
            rate_limit_from_env({name: value})
        else:
            DatabaseTimeouts.from_env({name: value})
    assert str(error.value).count("\n") == 0 and name in str(error.value) and repr(value) in str(error.value)


SNAPSHOT = """
import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from kis_intel_assets.definitions import defs
print(dg.serialize_value(RepositorySnap.from_def(defs.get_repository_def())))
"""
RESOURCES_QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name
  allTopLevelResourceDetails { name description configuredValues { key value type } } } } } }"""


def test_the_repository_snapshot_and_graphql_show_the_variable_never_the_password(tmp_path: Path) -> None:
    env = {**os.environ, "KIS_INTEL_DATABASE_URL": SNAPSHOT_URL, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    snapshot = subprocess.run(
        [sys.executable, "-c", SNAPSHOT], env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "KIS_INTEL_DATABASE_URL" in snapshot and len(snapshot) > 10_000
    assert PASSWORD not in snapshot

    port = free_port()
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        webserver = subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                "-m",
                "kis_intel_assets.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": RESOURCES_QUERY}, timeout=10
                )
                if answer.status_code == 200 and "repositoriesOrError" in answer.text:
                    break
            except httpx.TransportError:
                pass
            assert webserver.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
    resources = answer.json()["data"]["repositoriesOrError"]["nodes"][0]["allTopLevelResourceDetails"]
    database = next(r for r in resources if r["name"] == "database")
    assert {"key": "url", "value": "KIS_INTEL_DATABASE_URL", "type": "ENV_VAR"} in database[
        "configuredValues"
    ]
    assert PASSWORD not in answer.text and PASSWORD not in log.read_text()


def test_a_failed_run_leaves_no_password_in_dagster_home_output_or_its_alert(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    url = f"postgresql://u@127.0.0.1:1/db?password={PASSWORD}"  # nothing listens on port 1
    env = {**os.environ, "KIS_INTEL_DATABASE_URL": url, "DAGSTER_HOME": str(home)}
    run = subprocess.run(
        dagster_materialize_command("stock_money_flow_index", "--partition", "2025-06-02"),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert run.returncode != 0
    assert "cannot connect to database 127.0.0.1:1/db" in run.stdout + run.stderr
    files = [path for path in home.rglob("*") if path.is_file()]
    assert files
    leaking = [str(path) for path in files if PASSWORD.encode() in path.read_bytes()]
    assert leaking == [] and PASSWORD not in run.stdout + run.stderr
    alert = run_failure_alert(run_id="r1", job_name="j", error=f"connect failed for {url}", failed_at=0.0)
    assert PASSWORD not in json.dumps(alert.payload, ensure_ascii=False) and "password=***" in str(
        alert.payload
    )


def test_healthz_says_up_or_down_and_nothing_about_the_database(database_url: str) -> None:
    with serving(database_url) as base:
        up = httpx.get(f"{base}/healthz")
    with serving(f"postgresql://reader@127.0.0.1:1/market?password={PASSWORD}") as base:
        down = httpx.get(f"{base}/healthz")
        page = httpx.get(f"{base}/sectors")
    assert (up.status_code, up.json()) == (200, {"status": "up"})
    assert (down.status_code, down.json()) == (503, {"status": "down"})
    assert page.status_code == 503
    for text in (up.text, down.text, page.text):
        assert (
            PASSWORD not in text and "reader" not in text and "market" not in text and "127.0.0.1" not in text
        )


def test_serve_prints_its_database_without_the_password() -> None:
    url = f"postgresql://reader@127.0.0.1:1/market?sslmode=disable&password={PASSWORD}"
    serve = subprocess.Popen(
        [str(BIN / "kis-intel"), "serve", "--port", str(free_port()), "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert "kis-intel pages on http://127.0.0.1:" in line and "password=***" in line and PASSWORD not in line
