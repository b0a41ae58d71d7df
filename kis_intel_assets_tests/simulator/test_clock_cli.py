"""`kis-intel simulator --now ...`: the clock and the live-KIS switches from the command line, seen by the
real client over loopback."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.simulator.cli import run_simulator_cli
from kis_intel_assets_tests.support.processes import free_port


def test_cli_clock_refuses_investor_data_before_1541(database_url: str) -> None:
    port = free_port()
    command = [os.path.join(os.path.dirname(sys.executable), "kis-intel"), "simulator", "--port", str(port),
               "--symbols", "6", "--now", "2025-06-30T15:00", "--time-limit-scope", "today"]  # fmt: skip
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/common/master/kospi_code.mst.zip", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        config = KISConfig(app_key="PSclockcli", app_secret="clock-secret", database_url=database_url,
                           base_url=base, master_base_url=f"{base}/common/master")  # fmt: skip
        with KISClient.connect(config) as client:
            symbol = client.list_common_stocks()["symbol"].iloc[0]
            frame = client.investor_trends(symbol, dt.date(2025, 6, 23), dt.date(2025, 6, 30))
            unavailable = client.unavailable.days("FHPTJ04160001")
            kis_now = client.server_clock.now()
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(10)
    assert list(frame["time"]) == [dt.date(2025, 6, d) for d in (23, 24, 25, 26, 27)]  # past days served
    assert (
        list(unavailable) == [dt.date(2025, 6, 30)] and "TIME LIMIT" in unavailable[dt.date(2025, 6, 30)][1]
    )
    assert dt.datetime(2025, 6, 30, 15, 0) <= kis_now.replace(tzinfo=None) < dt.datetime(2025, 6, 30, 15, 5)


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--now", "yesterday"], "--now"),
        (["--time-offset", "soon"], "--time-offset"),
        (["--publication", "FHPST04830000=late"], "publication"),
        (["--publication", "FHPST04830000=16:10/maybe"], "form"),
    ],
)
def test_cli_names_a_bad_clock_argument(
    capsys: pytest.CaptureFixture[str], argv: list[str], word: str
) -> None:
    assert run_simulator_cli(argv) == 2
    assert word in capsys.readouterr().err
