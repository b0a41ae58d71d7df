"""종목별 일별 대차거래추이 (HHPST074500C0) through the real client against the simulator over loopback:
every field equals the simulator's truth, ranges longer than 100 rows page at the floor under both paging
styles KIS may use, no data is no rows, an unpublished day is absent (not a zero row) whether KIS publishes
the same evening or the next trading day, and a malformed field is a typed error naming TR, symbol, field."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

from kis_intel_assets.kis import KISClient, KISConfig, KISPayloadError
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets.simulator.clock import Publication, parse_publication
from kis_intel_assets_tests.support.kis_market import END, START, assert_same, calls, sim_config

TR = "HHPST074500C0"
MONDAY = END  # 2025-03-31
NEXT_DAY = {TR: Publication(dt.time(8, 0), "absent", days_late=1)}


@pytest.mark.parametrize("style", ["known", "tr_cont"])
def test_every_field_equals_truth_across_100_row_pages(
    make_config: Callable[..., KISConfig], style: str
) -> None:
    """ "known": 100 rows per call and the client moves END_DATE (the sample's way); "tr_cont": 100-row
    pages continued with tr_cont N. Both cost ceil(days / 100) calls."""
    with running_simulator(sim_config(paging_style=style)) as sim:
        symbol = sim.truth.symbols()[0]
        with KISClient.connect(make_config(sim)) as client:
            frame = client.stock_lending(symbol, START, END)
            served = sim.stats.requests(client.config.app_key.reveal(), TR)
            requests = calls(sim, client.config, TR)
    truth = sim.truth.stock_lending(START, END, [symbol])
    assert len(frame) == len(truth) == len(trading_days(START, END)) > 300
    assert list(frame.columns) == [
        "time",
        "symbol",
        "new_volume",
        "redeemed_volume",
        "balance_volume",
        "balance_amount",
        "balance_change",
        "close",
    ]
    assert_same(frame, truth, ["time"])
    assert requests == math.ceil(len(truth) / 100) == 4
    assert {r.tr_cont for r in served} == ({"D"} if style == "known" else {"M", "D"})
    # The check-only fields are what KIS sends: the day's close and the balance's change.
    prices = sim.truth.daily_prices(START, END, [symbol])
    assert frame["close"].tolist() == prices["close"].tolist()
    assert (frame["balance_change"] == frame["new_volume"] - frame["redeemed_volume"]).all()
    assert (frame["balance_volume"].diff().iloc[1:] == frame["balance_change"].iloc[1:]).all()
    assert (frame["balance_volume"] >= 0).all() and (frame["new_volume"] > 0).any()


@pytest.mark.parametrize("form", ["rt7", "empty_row", "zero_price"])
def test_a_range_without_trading_days_is_no_rows(make_config: Callable[..., KISConfig], form: str) -> None:
    """Before the first day KIS has: rt_cd 7 KIOK0560, `output1: [{}]` or an empty list, each no rows."""
    with running_simulator(sim_config(no_data_form=form)) as sim:
        symbol = sim.truth.symbols()[1]
        with KISClient.connect(make_config(sim)) as client:
            before = client.stock_lending(symbol, dt.date(2023, 6, 1), dt.date(2023, 12, 28))
            served = sim.stats.requests(client.config.app_key.reveal(), TR)
    assert before.empty and list(before.columns)[:2] == ["time", "symbol"]
    assert [r.msg_cd for r in served] == ["KIOK0560" if form == "rt7" else "MCA00000"]


def test_the_publication_day_is_switchable_from_the_command_line() -> None:
    assert parse_publication(f"{TR}=08:00+1d") == NEXT_DAY
    assert parse_publication(f"{TR}=19:30") == {TR: Publication(dt.time(19, 30), "absent")}


@pytest.mark.parametrize(
    ("publication", "now", "newest"),
    [
        (None, dt.datetime(2025, 3, 31, 17, 0), dt.date(2025, 3, 28)),  # same evening, before 18:00
        (None, dt.datetime(2025, 3, 31, 18, 30), MONDAY),
        (NEXT_DAY, dt.datetime(2025, 3, 31, 7, 0), dt.date(2025, 3, 27)),  # Friday's comes Monday 08:00
        (NEXT_DAY, dt.datetime(2025, 3, 31, 19, 0), dt.date(2025, 3, 28)),
    ],
    ids=["evening-before", "evening-after", "next-day-before", "next-day-after"],
)
def test_an_unpublished_day_is_absent_never_a_zero_row(
    make_config: Callable[..., KISConfig],
    publication: dict[str, Publication] | None,
    now: dt.datetime,
    newest: dt.date,
) -> None:
    with running_simulator(sim_config(now=now, publication=publication)) as sim:
        symbol = sim.truth.symbols()[2]
        with KISClient.connect(make_config(sim)) as client:
            frame = client.stock_lending(symbol, dt.date(2025, 3, 17), MONDAY)
    assert max(frame["time"]) == newest
    assert_same(frame, sim.truth.stock_lending(dt.date(2025, 3, 17), newest, [symbol]), ["time"])


@pytest.mark.parametrize("field", ["rmnd_stcn", "rmnd_amt", "new_stcn"])
def test_a_malformed_field_is_a_typed_error(
    faulty_sim: Callable[..., Any], make_config: Callable[..., KISConfig], field: str
) -> None:
    with faulty_sim(f"bad_field@{TR}/{field}=1") as sim:
        symbol = sim.truth.symbols()[3]
        with KISClient.connect(make_config(sim)) as client, pytest.raises(KISPayloadError) as raised:
            client.stock_lending(symbol, dt.date(2025, 3, 3), END)
    error = raised.value
    assert (error.tr_id, error.symbol, error.field) == (TR, symbol, field)
    assert TR in str(error) and symbol in str(error) and field in str(error)
