"""The market the Kiwoom client tests share (12 stocks, 2024-01-02..2024-09-30, a token again after 1 s), the
ground truth of the client's calls, and a load over two TRs at once for the request-limit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from kis_intel_assets.kis.parsing import Row
from kis_intel_assets.kiwoom import KiwoomClient
from kis_intel_assets.simulator import SimulatorConfig
from kis_intel_assets.simulator.kiwoom_server import KiwoomSimulator

MARKET = SimulatorConfig(
    seed=7, n_symbols=12, start=dt.date(2024, 1, 2), end=dt.date(2024, 9, 30), token_min_interval_seconds=1.0
)


def short_truth(sim: KiwoomSimulator, symbol: str, window: tuple[dt.date, dt.date]) -> list[dict]:
    """What KiwoomClient.short_selling (ka10014) must return for `symbol` over `window`."""
    columns = ["time", "symbol", "short_volume", "short_amount", "total_volume", "short_ratio"]
    return sim.truth.short_selling(*window, [symbol])[columns].to_dict("records")


def program_truth(sim: KiwoomSimulator, symbol: str, window: tuple[dt.date, dt.date]) -> list[dict]:
    """What KiwoomClient.program_trading (ka90013, two requests) must return for `symbol` over `window`."""
    return sim.truth.program_trading(*window, [symbol]).to_dict("records")


def busiest_second(times: Sequence[float]) -> int:
    """The most of `times` (seconds) inside any one-second window: what the simulator's limit counts."""
    ordered = sorted(times)
    most = first = 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def collect_two_trs(
    client: KiwoomClient, sim: KiwoomSimulator, window: tuple[dt.date, dt.date], requests_per_tr: int = 10
) -> None:
    """`requests_per_tr` requests each of ka10014 (short selling) and ka90013 (programme trading, two a
    call), all at once on three threads per TR; every result must equal the ground truth."""
    symbols = sim.model.symbols()
    calls: list[tuple[Callable[..., list[Row]], Callable[..., list[dict]], str]] = [
        (client.short_selling, short_truth, symbols[i % len(symbols)]) for i in range(requests_per_tr)
    ] + [
        (client.program_trading, program_truth, symbols[i % len(symbols)])
        for i in range(requests_per_tr // 2)
    ]
    with ThreadPoolExecutor(6) as pool:
        results = [(pool.submit(fetch, symbol, *window), truth, symbol) for fetch, truth, symbol in calls]
        for result, truth, symbol in results:
            assert result.result() == truth(sim, symbol, window), symbol
