"""The real client against each paging style KIS may use for its date-ranged TRs (simulator/paging.py):
tr_cont pages, one short page per call (the client moves the cursor date back), and a server that says
"more" but repeats its page (an error at once, not max_pages identical calls)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

from kis_intel_assets.kis import KISClient, KISConfig, KISError
from kis_intel_assets_tests.support.kis_market import END, assert_same, calls, sim_config

START = dt.date(2024, 3, 4)
MARKET_START = dt.date(2024, 9, 2)  # FHPPG04600001 serves 8 months back from END (publication.py)
PAGE = 40


@pytest.fixture(scope="module", params=["tr_cont", "short"])
def styled_sim(request: pytest.FixtureRequest) -> Any:
    from kis_intel_assets.simulator import running_simulator

    config = sim_config(
        paging_style=request.param, page_size=PAGE, page_sizes={"FHPTJ04160001": PAGE, "FHPPG04650201": PAGE}
    )
    with running_simulator(config) as server:
        yield server


def test_every_ranged_dataset_equals_truth_at_the_floor(
    styled_sim: Any, make_config: Callable[..., KISConfig]
) -> None:
    sim = styled_sim
    symbol = sim.truth.symbols()[0]
    with KISClient.connect(make_config(sim)) as kis:
        flows = kis.investor_trends(symbol, START, END)
        short = kis.short_selling(symbol, START, END)
        program = kis.program_trading(symbol, START, END)
        market = kis.program_trading_market("KOSPI", MARKET_START, END)
        config = kis.config
    assert_same(flows, sim.truth.investor_trends(START, END, [symbol]), ["time"])
    truth_short = sim.truth.short_selling(START, END, [symbol])
    assert_same(short, truth_short.drop(columns=["balance_volume", "balance_amount"]), ["time"])
    assert_same(program, sim.truth.program_trading(START, END, [symbol]), ["time"])
    truth_market = sim.truth.program_trading_market(MARKET_START, END)
    assert_same(market, truth_market[truth_market["market"] == "KOSPI"], ["time", "trade_type"])
    floor = math.ceil(len(flows) / PAGE)
    for tr_id in ("FHPTJ04160001", "FHPST04830000", "FHPPG04650201"):
        assert calls(sim, config, tr_id) == floor, tr_id
    assert calls(sim, config, "FHPPG04600001") == math.ceil(market["time"].nunique() / PAGE)
    served = sim.stats.requests(config.app_key.reveal(), "FHPTJ04160001")
    if sim.config.paging_style == "short":
        assert {r.tr_cont for r in served} == {"D"}  # every page ended; the client moved the anchor
    else:  # one tr_cont chain, left as soon as START was covered (older rows remain: still "M")
        assert {r.tr_cont for r in served} == {"M"}


def test_a_repeated_more_page_is_an_error_after_two_calls(make_config: Callable[..., KISConfig]) -> None:
    from kis_intel_assets.simulator import running_simulator

    with running_simulator(sim_config(paging_style="repeat", page_size=PAGE)) as sim:
        symbol = sim.truth.symbols()[1]
        with KISClient.connect(make_config(sim)) as kis, pytest.raises(KISError) as raised:
            kis.short_selling(symbol, START, END)
        assert calls(sim, kis.config, "FHPST04830000") == 2
    message = str(raised.value)
    assert "FHPST04830000" in message and symbol in message and "repeated" in message


def test_a_full_last_page_then_no_data_ends_the_range(make_config: Callable[..., KISConfig]) -> None:
    """302 sessions in two one-page answers of 151: the anchor then moves before the first day and KIS
    answers "no data" (KIOK0560), which ends the range instead of failing it."""
    from kis_intel_assets.simulator import running_simulator

    config = sim_config(paging_style="short", page_sizes={"FHPTJ04160001": 151})
    with running_simulator(config) as sim:
        symbol = sim.truth.symbols()[2]
        with KISClient.connect(make_config(sim)) as kis:
            flows = kis.investor_trends(symbol, dt.date(2023, 6, 1), END)
        assert_same(flows, sim.truth.investor_trends(dt.date(2023, 6, 1), END, [symbol]), ["time"])
        served = sim.stats.requests(kis.config.app_key.reveal(), "FHPTJ04160001")
    assert len(flows) == 302 and [r.msg_cd for r in served] == ["MCA00000", "MCA00000", "KIOK0560"]
