"""Shared fixtures: every test that touches the database gets a fresh, fully migrated PostgreSQL database.

The server is the one named by KIS_INTEL_TEST_DATABASE_URL (or KIS_INTEL_DATABASE_URL), as CI does
with the machine's PostgreSQL; without either, an embedded PostgreSQL (pgserver) is started in a
temporary folder so the suite also runs on a machine that has no database server.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kis_intel_assets.storage import migrate
from kis_intel_assets_tests.support.databases import (
    create_database,
    drop_database,
    scratch_database,
    with_database,
)

TEST_DATABASE_URL_ENV = "KIS_INTEL_TEST_DATABASE_URL"
pytest_plugins = ["kis_intel_assets_tests.simulator_fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job of a non-interactive shell inherits SIGINT ignored. Dagster maps
    SIGTERM onto SIGINT's handler around every in-process run, so the worker would end up ignoring SIGTERM
    and so would every server a later test starts (ignored signals survive exec): SIGTERM could not stop
    them. Ctrl-C's own handler keeps SIGTERM a signal that ends a child."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get(TEST_DATABASE_URL_ENV) or os.environ.get("KIS_INTEL_DATABASE_URL")
    if configured:
        yield with_database(configured, "postgres")
        return
    import pgserver
    from filelock import FileLock

    # pytest-xdist workers share one embedded server (pgserver counts its holders and the last one stops
    # it); its set-up runs under a lock because two concurrent first starts as root race in initdb.
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    folder = shared / "pg" if shared else Path(tmp_path_factory.mktemp("pg"))
    folder.mkdir(exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    yield server.get_uri("postgres")
    server.cleanup()


@pytest.fixture(scope="session")
def migrated_template(postgres_server_url: str) -> Iterator[str]:
    """A migrated database that per-test databases are cloned from (cloning is much faster than migrating)."""
    name = f"kis_test_template_{uuid.uuid4().hex[:8]}"
    migrate(create_database(postgres_server_url, name))
    yield name
    drop_database(postgres_server_url, name)


@pytest.fixture
def empty_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh database with no tables at all (for migration tests)."""
    with scratch_database(postgres_server_url, "kis_test") as url:
        yield url


@pytest.fixture
def database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh, fully migrated database for one test."""
    with scratch_database(postgres_server_url, "kis_test", migrated_template) as url:
        yield url
