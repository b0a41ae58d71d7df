"""`kis-intel simulator-krx` serves a portal the client can log in to and read, and refuses bad options."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from kis_intel_assets.krx import KRXClient, KRXCredentials
from kis_intel_assets.krx.publication import KST

COMMAND = [sys.executable, "-m", "kis_intel_assets.cli", "simulator-krx"]


def test_cli_serves_login_and_tables_on_the_printed_address(database_url: str) -> None:
    now = "2025-06-30T19:00"
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--symbols", "8", "--now", now, "--account", "cli-user:cli-pass"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("KRX portal simulator serving http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[-1].strip()
        clock = lambda: dt.datetime(2025, 6, 30, 19, 0, tzinfo=KST)  # noqa: E731
        with KRXClient(
            base_url,
            KRXCredentials("cli-user", "cli-pass"),
            database_url,
            requests_per_second=20,
            clock=clock,
            share_session=False,  # the test process is not the CLI's process
        ) as client:
            balance = client.short_balance(dt.date(2025, 6, 24))
            assert 4 <= len(balance) <= 8 and balance.symbol.is_unique and (balance.listed_shares > 0).all()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_names_a_bad_option() -> None:
    result = subprocess.run([*COMMAND, "--account", "no-colon"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--account must look like ID:PASSWORD" in result.stderr
