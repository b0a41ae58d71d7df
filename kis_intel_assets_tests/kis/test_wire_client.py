"""The real client against the simulator over loopback for KIS's wire details (docs/kis_protocol.md §7-§11):
market scope J/NX/UN, the sector index history and holiday endpoints it uses, and a simulator started from the
CLI with EGW00201 as HTTP 200 and one-page answers."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kis_intel_assets import krx_calendar
from kis_intel_assets.kis import KISClient, KISConfig, RetrySettings
from kis_intel_assets_tests.support.kis_market import END, assert_same, calls
from kis_intel_assets_tests.support.processes import free_port

START = dt.date(2024, 6, 3)


def test_market_scope_is_j_unless_configured(sim: Any, make_config: Callable[..., KISConfig]) -> None:
    symbol = sim.truth.symbols()[0]
    with (
        KISClient.connect(make_config(sim)) as krx,
        KISClient.connect(make_config(sim, market_division="UN")) as combined,
    ):
        j = krx.program_trading(symbol, START, END)
        un = combined.program_trading(symbol, START, END)
    assert_same(j, sim.truth.program_trading(START, END, [symbol]), ["time"])
    served = sim.stats.requests(krx.config.app_key.reveal(), "FHPPG04650201")
    assert len(served) > 0 and len(un) == len(j)
    assert (un["program_buy"] == (j["program_buy"] * 1.8).round().astype("int64")).all()
    with pytest.raises(ValueError, match="market_division must be one of"):
        make_config(sim, market_division="KRX")


def test_sector_index_history_and_kis_market_days(sim: Any, make_config: Callable[..., KISConfig]) -> None:
    with KISClient.connect(make_config(sim)) as kis:
        window = {
            "FID_INPUT_ISCD": "0001",
            "FID_INPUT_DATE_1": f"{START:%Y%m%d}",
            "FID_INPUT_DATE_2": f"{END:%Y%m%d}",
        }
        history = kis.range_frame("FHKUP03500100", window, ("sector_code", "0001"), START, END)
        days = kis.market_days(dt.date(2024, 12, 1), dt.date(2025, 2, 28))
        config = kis.config
    index = sim.model.factors.index_ohlcv("0001")
    served_days = [d.astype(object) for d in sim.model.days]
    expected = [
        round(float(c), 2) for d, c in zip(served_days, index["close"], strict=True) if START <= d <= END
    ]
    assert history["close"].tolist() == expected and list(history["time"]) == [
        d for d in served_days if START <= d <= END
    ]
    assert calls(sim, config, "FHKUP03500100") == math.ceil(len(expected) / 100)
    assert len(days) == 90 and days["open"].tolist() == [krx_calendar.is_trading_day(d) for d in days["time"]]
    assert not days.set_index("time")["open"][dt.date(2025, 1, 1)]  # 신정


@pytest.fixture
def cli_simulator() -> Iterator[str]:
    """`kis-intel simulator` in its own process: EGW00201 as HTTP 200, one-page answers, 3 requests/s."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("kis-intel")),
        "simulator",
        "--port",
        str(port),
        "--symbols",
        "6",
        "--rate-limit",
        "5",
        "--rate-limit-style",
        "200",
        "--paging",
        "short",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        deadline = time.monotonic() + 60
        while "serving" not in line and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
        assert "serving" in line, line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_cli_simulator_rate_limits_with_http_200_and_pages_one_page_at_a_time(
    cli_simulator: str, make_config: Callable[..., KISConfig]
) -> None:
    class Server:
        base_url = cli_simulator
        master_base_url = f"{cli_simulator}/common/master"

    end = krx_calendar.previous_trading_day(dt.date.today())
    start = krx_calendar.trading_days(end - dt.timedelta(days=200), end)[-120]
    # twice the server's budget, with the default backoff (EGW00201 is retried, never a failure)
    with KISClient.connect(make_config(Server, rate_limit_per_sec=6.0, retry=RetrySettings())) as kis:
        flows = [kis.investor_trends(symbol, start, end) for symbol in kis.list_common_stocks()["symbol"][:3]]
        snapshot = kis.metrics.snapshot()
    assert all(f["time"].tolist() == krx_calendar.trading_days(start, end) for f in flows)
    assert snapshot["retries"].get("rate_limited", 0) > 0  # EGW00201 in an HTTP 200 body
