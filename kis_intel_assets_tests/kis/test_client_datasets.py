"""Every registered endpoint through the real client against the simulator over loopback: values equal
the simulator's ground truth, and ranges cost the fewest calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from kis_intel_assets.kis import ENDPOINTS, KISClient, KISConfig, KISError
from kis_intel_assets.kis.client import MARKET_CODES
from kis_intel_assets_tests.support.kis_market import END, assert_same, calls

RECENT = dt.date(2025, 1, 2)


@pytest.fixture
def client(sim: Any, make_config: Callable[..., KISConfig]) -> Any:
    with KISClient.connect(make_config(sim)) as kis:
        yield kis


def test_250_trading_days_cost_the_floor_at_known_page_sizes(sim: Any, client: KISClient) -> None:
    """100 candles per call; FHPTJ04160001 answers 30 sessions back from its anchor in one page."""
    symbol = sim.truth.symbols()[0]
    days = sorted(sim.truth.daily_prices(dt.date(2024, 1, 1), END, [symbol])["time"])
    start = days[-250]
    prices = client.daily_prices(symbol, start, END)
    assert_same(prices, sim.truth.daily_prices(start, END, [symbol]), ["time"])
    assert list(prices.columns) == [
        "time",
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trading_value",
        "base_change",
        "lock_code",
        "modified_yn",
        "reevaluation_reason",
    ]
    assert isinstance(prices["time"].iloc[0], dt.date)
    assert calls(sim, client.config, "FHKST03010100") == 3
    flows = client.investor_trends(symbol, start, END)
    assert_same(flows, sim.truth.investor_trends(start, END, [symbol]), ["time"])
    assert calls(sim, client.config, "FHPTJ04160001") == 9  # ceil(250 / 30)
    # A Saturday start still needs only 3 calls: the short last page shows the server ran out of rows.
    saturday = start - dt.timedelta(days=(start.weekday() - 5) % 7)
    assert len(client.daily_prices(symbol, saturday, END)) >= 250
    assert calls(sim, client.config, "FHKST03010100") == 6
    assert client.metrics.snapshot()["retries_total"] == 0


def test_short_selling_and_program_trading_match_truth(sim: Any, client: KISClient) -> None:
    symbol = sim.truth.symbols()[1]
    short = client.short_selling(symbol, RECENT, END)
    truth = sim.truth.short_selling(RECENT, END, [symbol])
    truth = truth.drop(columns=["balance_volume", "balance_amount"])
    assert_same(short, truth, ["time"])
    program = client.program_trading(symbol, RECENT, END)
    assert_same(program, sim.truth.program_trading(RECENT, END, [symbol]), ["time"])
    market = client.program_trading_market("KOSDAQ", RECENT, END)
    truth_market = sim.truth.program_trading_market(RECENT, END)
    assert_same(market, truth_market[truth_market["market"] == "KOSDAQ"], ["time", "trade_type"])
    assert set(market["trade_type"]) == {"arbitrage", "non_arbitrage", "total"}
    for tr_id in ("FHPST04830000", "FHPPG04600001"):
        assert calls(sim, client.config, tr_id) == 1
    assert calls(sim, client.config, "FHPPG04650201") == -(-len(program) // 30)  # 30 business days per call


def test_stock_info_master_files_and_current_price(sim: Any, client: KISClient) -> None:
    master = sim.truth.stock_master().sort_values("valid_from").groupby("symbol").tail(1).set_index("symbol")
    symbol = sim.truth.symbols()[2]
    info = client.stock_info(symbol)
    expected = master.loc[symbol]
    assert (info.name, info.market, info.sector_code, info.sector_name, info.listed_shares) == (
        expected["name"],
        expected["market"],
        expected["sector_code"],
        expected["sector_name"],
        expected["listed_shares"],
    )
    stocks = client.list_common_stocks()
    assert sorted(stocks["symbol"]) == sorted(sim.truth.symbols())  # ETF/ETN lines filtered out
    assert dict(zip(stocks["symbol"], stocks["market"], strict=True)) == master["market"].to_dict()
    quote = client.current_price(symbol)
    last_close = sim.truth.daily_prices(END - dt.timedelta(days=10), END, [symbol]).iloc[-1]
    assert quote["price"] == last_close["close"] and quote["volume"] == last_close["volume"]
    assert quote["listed_shares"] == expected["listed_shares"]
    assert quote["sector_name"] == expected["sector_name"]


def test_snapshot_ranking_and_intraday_agree_with_daily_truth(sim: Any, client: KISClient) -> None:
    symbol = sim.truth.symbols()[3]
    snapshot = client.rows_frame("FHKST01010900", {"FID_INPUT_ISCD": symbol}, ("symbol", symbol))
    snapshot = snapshot.sort_values("time", ignore_index=True)
    assert len(snapshot) == 30 and snapshot["time"].iloc[-1] == END
    truth = sim.truth.investor_trends(snapshot["time"].iloc[0], END, [symbol])
    assert_same(snapshot.drop(columns=["close"]), truth, ["time"])
    ranking = client.foreign_institution_provisional("ALL")
    day_truth = sim.truth.investor_trends(END, END).set_index("symbol")
    assert 0 < len(ranking) <= 30
    for row in ranking.itertuples():
        assert row.foreign_net == day_truth.loc[row.symbol, "foreign_net"]
        assert row.other_corporation_net_value == day_truth.loc[row.symbol, "other_corporation_net_value"]
    intraday = client.program_trade_intraday(symbol)
    close_row = intraday[intraday["hour"] == dt.time(15, 30)].iloc[0]
    program = sim.truth.program_trading(END, END, [symbol]).iloc[0]
    assert close_row["program_net_value"] == program["program_net_value"]
    assert close_row["program_buy"] == program["program_buy"]


def test_market_level_flows_and_sector_indices(sim: Any, client: KISClient) -> None:
    kospi, end = MARKET_CODES["KOSPI"], f"{END:%Y%m%d}"
    flows = client.range_frame(
        "FHPTJ04040000",
        {
            "FID_INPUT_ISCD": kospi.index_code,
            "FID_INPUT_DATE_1": end,
            "FID_INPUT_ISCD_1": kospi.investor_code,
            "FID_INPUT_DATE_2": end,
            "FID_INPUT_ISCD_2": kospi.index_code,
        },
        ("market", "KOSPI"),
        RECENT,
        END,
    )
    assert len(flows) == len(sim.truth.program_trading_market(RECENT, END)) // 6
    top_groups = ["foreign_net", "retail_net", "institution_net", "other_net"]
    nets = flows[top_groups].sum(axis=1)
    assert (nets == 0).all()  # the four top-level groups net to zero on a complete market day
    index = client.range_frame(
        "FHPUP02120000",
        {"FID_INPUT_ISCD": "0001", "FID_INPUT_DATE_1": end},
        ("sector_code", "0001"),
        RECENT,
        END,
    )
    merged = flows.merge(index, on="time", suffixes=("_flows", "_index"))
    assert len(merged) == len(flows)
    assert (merged["close_flows"] == merged["close_index"]).all()
    assert (index["high"] >= index["low"]).all() and index["close"].dtype == float


def test_paper_mode_refuses_real_only_endpoints_before_calling(
    sim: Any, make_config: Callable[..., KISConfig]
) -> None:
    with KISClient.connect(make_config(sim, paper=True)) as paper:
        with pytest.raises(KISError, match=r"real-account only.*FHPST04830000"):
            paper.short_selling("005930", RECENT, END)
        assert paper.metrics.requests == 0
    assert {t for t, e in ENDPOINTS.items() if not e.paper} >= {"FHPST04830000", "CTPF1002R"}


def test_one_client_serves_a_small_thread_pool(sim: Any, client: KISClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    symbols = sim.truth.symbols()[:6]
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda s: client.investor_trends(s, RECENT, END), symbols))
    assert_same(pd.concat(frames), sim.truth.investor_trends(RECENT, END, symbols), ["symbol", "time"])
    key = client.config.app_key.reveal()
    assert [r for r in sim.stats.requests(key) if r.msg_cd == "EGW00201"] == []
    assert sim.stats.token_issuances(key) == 1
