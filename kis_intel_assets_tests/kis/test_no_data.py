"""No data is not bad data: the real client against a simulator whose universe lists and delists, in
each no-data form KIS is seen to use. A range without rows is an empty frame; a range across the listing
is exactly the listed days; a row with a field missing still fails naming TR ID, symbol and field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.endpoints import ENDPOINTS
from kis_intel_assets.kis.errors import KISPayloadError
from kis_intel_assets.kis.parsing import parse_rows
from kis_intel_assets.simulator import running_simulator
from kis_intel_assets_tests.support.kis_market import sim_config

DATASETS = ("daily_prices", "investor_trends", "short_selling", "program_trading")


@pytest.mark.parametrize("form", ["rt7", "empty_row", "zero_price"])
def test_ranges_before_a_listing_and_after_a_delisting_are_empty(
    make_config: Callable[..., KISConfig], form: str
) -> None:
    config = sim_config(no_data_form=form, listings_per_year=600, delistings_per_year=600, halts_per_year=0)
    with running_simulator(config) as sim:
        events = sim.truth.listing_events()
        listed = events[events["kind"] == "listing"].iloc[0]
        delisted = events[events["kind"] == "delisting"].iloc[0]
        before = (listed["first"] - dt.timedelta(days=20), listed["first"] - dt.timedelta(days=1))
        across = (listed["first"] - dt.timedelta(days=10), listed["first"] + dt.timedelta(days=10))
        after = (delisted["last"] + dt.timedelta(days=1), delisted["last"] + dt.timedelta(days=20))
        with KISClient.connect(make_config(sim)) as client:
            for name in DATASETS:
                fetch = getattr(client, name)
                truth = getattr(sim.truth, name)
                assert fetch(listed["symbol"], *before).empty, (form, name)
                assert fetch(delisted["symbol"], *after).empty, (form, name)
                got = fetch(listed["symbol"], *across)
                expected = truth(*across, [listed["symbol"]])
                assert list(got["time"]) == list(expected["time"]) and got["time"].min() == listed["first"]


def test_an_empty_row_is_no_row_but_a_row_missing_a_field_is_bad_data() -> None:
    endpoint = ENDPOINTS["FHKST03010100"]
    assert parse_rows([{}], endpoint, symbol="005930") == []
    with pytest.raises(KISPayloadError) as error:
        parse_rows([{"stck_bsop_date": "20250630"}], endpoint, symbol="005930")
    assert (error.value.tr_id, error.value.symbol, error.value.field) == (
        "FHKST03010100",
        "005930",
        "stck_oprc",
    )
    with pytest.raises(KISPayloadError):  # an object endpoint answering {} is not "no rows"
        parse_rows([{}], ENDPOINTS["CTPF1002R"], symbol="005930")
