"""Both brokers behind one client: symbols spread over both budgets, fallback when one fails, `source`
on every routed row, and the result equal to ground truth either way."""

from __future__ import annotations

import contextlib
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pandas as pd
import pytest

from kis_intel_assets.kis import KISClient, KISConfig, KISTransientError
from kis_intel_assets.kiwoom.routing import MARKET_LIST_MAX_DAYS, ROUTED_DATASETS, TwoBrokerClient, routed
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import FaultSpec, running_simulator
from kis_intel_assets.simulator.kiwoom_app import KiwoomSimSettings
from kis_intel_assets.simulator.kiwoom_server import running_kiwoom_simulator
from kis_intel_assets_tests.support.clients import FAST_RETRY
from kis_intel_assets_tests.support.kiwoom import MARKET

DAY = dt.date(2024, 6, 28)
# More trading days than Kiwoom's market lists serve: programme trading is then asked stock by stock.
WIDE_START = dt.date(2024, 6, 3)
assert len(trading_days(WIDE_START, DAY)) > MARKET_LIST_MAX_DAYS


@contextlib.contextmanager
def two_brokers(
    make_client, database_url, *, source="both", kis_faults=None, trading_values=None, **kiwoom_settings
):
    with (
        running_simulator(replace(MARKET, faults=kis_faults)) as kis_sim,
        running_kiwoom_simulator(
            kis_sim.model, KiwoomSimSettings(rate_limit_per_sec=50.0, **kiwoom_settings)
        ) as kiwoom_sim,
    ):
        kis = KISClient.connect(
            KISConfig(
                app_key="PSrouting" + source,
                app_secret="secret-routing",
                database_url=database_url,
                base_url=kis_sim.base_url,
                master_base_url=kis_sim.master_base_url,
                retry=FAST_RETRY,
            )
        )
        client = routed(
            kis,
            lambda: make_client(kiwoom_sim),
            source,
            trading_values(kis_sim) if trading_values else None,
            kis_rate_per_sec=20.0,
            kiwoom_rate_per_sec=40.0,
        )
        try:
            yield client, kis_sim, kiwoom_sim
        finally:
            kis.close()


def fetch_all(client, symbols, start=DAY, dataset="program_trading") -> pd.DataFrame:
    with ThreadPoolExecutor(8) as pool:
        frames = pool.map(lambda s: getattr(client, dataset)(s, start, DAY), symbols)
        return pd.concat(frames, ignore_index=True)


def assert_equals_truth(frame: pd.DataFrame, sim, start=DAY, dataset="program_trading", symbols=None) -> None:
    """Every column of the dataset's ground truth (of `symbols`, default all) equals the frame's."""
    expected = getattr(sim.truth, dataset)(start, DAY, symbols)
    expected = expected.sort_values(["symbol", "time"]).reset_index(drop=True)
    got = frame.sort_values(["symbol", "time"]).reset_index(drop=True)[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_both_spreads_symbols_over_both_brokers(make_client, database_url):
    """A window too long for the market lists: per stock, spread by requests per symbol (ka90013: 2)."""
    with two_brokers(make_client, database_url) as (client, kis_sim, kiwoom_sim):
        assert isinstance(client, TwoBrokerClient)
        symbols = kis_sim.model.symbols()
        frame = fetch_all(client, symbols, WIDE_START)
        assert_equals_truth(frame, kis_sim, WIDE_START)
        used = client.source_metadata()["symbols_by_source"]
        assert used.get("KIS", 0) > 0 and used.get("KIWOOM", 0) > 0 and sum(used.values()) == len(symbols)
        assert set(frame["source"]) == {"KIS", "KIWOOM"}
        assert client.metrics.snapshot()["requests_by_source"]["KIWOOM"] == 2 * used["KIWOOM"]
        assert kiwoom_sim.stats.served("ka90004") == 0


def test_a_daily_window_comes_from_kiwooms_market_lists(make_client, database_url):
    """One ka90004 call per market (12 stocks fit one page) serves every stock; KIS is not asked."""
    with two_brokers(make_client, database_url) as (client, kis_sim, kiwoom_sim):
        frame = fetch_all(client, kis_sim.model.symbols())
        assert_equals_truth(frame, kis_sim)
        assert set(frame["source"]) == {"KIWOOM"}
        meta = client.source_metadata()
        assert meta["symbols_by_source"] == {"KIWOOM": 12}
        assert meta["market_list_days"] == {"program_trading": 1, "stock_lending": 0}
        assert kiwoom_sim.stats.served("ka90004") == 2 and kiwoom_sim.stats.served("ka90013") == 0
        assert client.metrics.snapshot()["requests_by_source"] == {"KIS": 0, "KIWOOM": 2}


def test_stocks_a_partial_market_list_leaves_out_are_asked_stock_by_stock(make_client, database_url):
    """A list of only the 5 most traded stocks per market: the other 2 are routed per stock as usual."""
    with two_brokers(make_client, database_url, program_list_most_traded=5) as (client, kis_sim, kiwoom_sim):
        symbols = kis_sim.model.symbols()
        frame = fetch_all(client, symbols)
        assert_equals_truth(frame, kis_sim)
        listed = {s for s in symbols if client.served[("program_trading", s)] == "KIWOOM"}
        assert len(listed) >= 10 and client.source_metadata()["symbols_by_source"].get("KIS", 0) > 0
        assert kiwoom_sim.stats.served("ka90004") == 2


def test_kis_failing_every_request_completes_from_kiwoom(make_client, database_url):
    with two_brokers(make_client, database_url, kis_faults=FaultSpec.parse("http5xx=1.0")) as (
        client,
        sim,
        _,
    ):
        frame = fetch_all(client, sim.model.symbols(), WIDE_START)
        assert_equals_truth(frame, sim, WIDE_START)
        assert set(frame["source"]) == {"KIWOOM"}
        meta = client.source_metadata()
        assert meta["symbols_by_source"] == {"KIWOOM": 12}
        assert meta["sources_down"] == ["KIS"] and meta["source_fallbacks"] >= 3


def test_kiwoom_failing_market_lists_fall_back_per_stock(make_client, database_url):
    """Kiwoom down: the day's list fails once (kept, not re-asked per stock), KIS serves every stock."""
    with two_brokers(make_client, database_url) as (client, sim, kiwoom_sim):
        kiwoom_sim.set_down(True)
        frame = fetch_all(client, sim.model.symbols())
        assert_equals_truth(frame, sim)
        assert set(frame["source"]) == {"KIS"}
        assert client.source_metadata()["sources_down"] == ["KIWOOM"]
        asked = {api_id for api_id, _ in kiwoom_sim.stats.answers}
        attempts = sum(kiwoom_sim.stats.answers.values())
        assert asked == {"ka90004"} and attempts == FAST_RETRY.max_attempts


def test_kiwoom_only_has_no_fallback(make_client, database_url):
    with two_brokers(make_client, database_url, source="kiwoom") as (client, sim, kiwoom_sim):
        frame = fetch_all(client, sim.model.symbols(), WIDE_START)
        assert_equals_truth(frame, sim, WIDE_START)
        assert set(frame["source"]) == {"KIWOOM"}
        kiwoom_sim.set_down(True)
        with pytest.raises(KISTransientError, match="ka90013"):
            client.program_trading(sim.model.symbols()[0], WIDE_START, DAY)
        with pytest.raises(KISTransientError, match="ka90004"):
            client.program_trading(sim.model.symbols()[0], DAY, DAY)


def test_source_kis_is_the_kis_client_and_a_bad_source_is_named(make_client, database_url):
    sentinel = object()
    assert routed(sentinel, None, "kis") is sentinel
    with pytest.raises(ValueError, match="needs Kiwoom credentials"):
        routed(sentinel, None, "both")
    with pytest.raises(ValueError, match="source must be one of"):
        routed(sentinel, None, "kiwom")


def test_investor_trends_spread_by_requests_per_symbol_with_null_groups_from_kiwoom(
    make_client, database_url
):
    """Kiwoom needs 4 ka10059 calls per stock to KIS's one: at 40/s against 20/s it gets about a third of
    the stocks (40/4 : 20/1), its rows carry NULL for the groups it cannot give, the rest equals truth."""
    missing = list(ROUTED_DATASETS["investor_trends"].not_from_kiwoom)
    with two_brokers(make_client, database_url) as (client, kis_sim, _):
        symbols = kis_sim.model.symbols()
        with ThreadPoolExecutor(8) as pool:
            frame = pd.concat(
                pool.map(lambda s: client.investor_trends(s, DAY, DAY), symbols), ignore_index=True
            )
        used = client.source_metadata()["symbols_by_source"]
        assert used.get("KIS", 0) > used.get("KIWOOM", 0) > 0 and sum(used.values()) == len(symbols)
        assert client.metrics.snapshot()["requests_by_source"]["KIWOOM"] == 4 * used["KIWOOM"]
    expected = kis_sim.truth.investor_trends(DAY, DAY).sort_values("symbol").reset_index(drop=True)
    got = frame.sort_values("symbol").reset_index(drop=True)
    shared = [c for c in expected.columns if c not in missing]
    pd.testing.assert_frame_equal(got[shared], expected[shared], check_dtype=False)
    from_kiwoom = got["source"] == "KIWOOM"
    assert got.loc[from_kiwoom, missing].isna().all().all()
    pd.testing.assert_frame_equal(
        got.loc[~from_kiwoom, missing], expected.loc[~from_kiwoom, missing], check_dtype=False
    )


def stored_daily_prices(sim):
    """What the daily_prices table holds after its asset ran (it stores exactly the ground truth)."""
    prices = sim.truth.daily_prices(DAY, DAY)
    by_symbol = {s: {DAY: int(v)} for s, v in zip(prices["symbol"], prices["trading_value"], strict=True)}
    return lambda symbol, start, end: by_symbol.get(symbol, {})


def test_short_selling_from_kiwoom_takes_the_stored_trading_value(make_client, database_url):
    with two_brokers(make_client, database_url, trading_values=stored_daily_prices) as (client, kis_sim, _):
        symbols = kis_sim.model.symbols()
        with ThreadPoolExecutor(8) as pool:
            frame = pd.concat(
                pool.map(lambda s: client.short_selling(s, DAY, DAY), symbols), ignore_index=True
            )
        used = client.source_metadata()["symbols_by_source"]
    assert used.get("KIS", 0) > 0 and used.get("KIWOOM", 0) > 0
    expected = kis_sim.truth.short_selling(DAY, DAY).sort_values("symbol").reset_index(drop=True)
    got = frame.sort_values("symbol").reset_index(drop=True)
    columns = ["time", "symbol", "short_volume", "short_amount", "short_ratio", "short_value_ratio"]
    pd.testing.assert_frame_equal(
        got[[*columns, "total_volume", "total_value"]],
        expected[[*columns, "total_volume", "total_value"]],
        check_dtype=False,
    )
    assert got.loc[got["source"] == "KIWOOM", ["day_high", "day_low"]].isna().all().all()


def test_short_selling_without_a_stored_trading_value_comes_from_kis(make_client, database_url):
    """No daily_prices row yet: Kiwoom cannot complete the rows, KIS serves them (not a Kiwoom failure)."""
    with two_brokers(make_client, database_url, source="kiwoom") as (client, kis_sim, _):
        frame = pd.concat([client.short_selling(s, DAY, DAY) for s in kis_sim.model.symbols()[:4]])
        assert set(frame["source"]) == {"KIS"}
        assert client.source_metadata()["sources_down"] == []


def test_stock_lending_of_a_daily_window_comes_from_kiwooms_market_lists(make_client, database_url):
    """One ka90012 call per market serves every stock; KIS's check-only fields are NULL in those rows."""
    with two_brokers(make_client, database_url) as (client, kis_sim, kiwoom_sim):
        frame = fetch_all(client, kis_sim.model.symbols(), dataset="stock_lending")
        assert_equals_truth(frame, kis_sim, dataset="stock_lending")
        assert set(frame["source"]) == {"KIWOOM"}
        assert frame[["balance_change", "close"]].isna().all().all()
        assert kiwoom_sim.stats.served("ka90012") == 2
        assert client.source_metadata()["market_list_days"]["stock_lending"] == 1


def test_a_long_lending_window_is_served_by_kis_even_with_source_kiwoom(make_client, database_url):
    """Kiwoom's lending comes only from its market lists: past their window KIS serves (not a failure)."""
    with two_brokers(make_client, database_url, source="kiwoom") as (client, kis_sim, kiwoom_sim):
        symbols = kis_sim.model.symbols()[:3]
        frame = fetch_all(client, symbols, WIDE_START, "stock_lending")
        assert_equals_truth(frame, kis_sim, WIDE_START, "stock_lending", symbols)
        assert set(frame["source"]) == {"KIS"}
        assert client.source_metadata()["sources_down"] == [] and kiwoom_sim.stats.served() == 0
