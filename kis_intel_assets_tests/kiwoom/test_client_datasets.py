"""The Kiwoom client against its simulator over loopback, for every registered TR, compared with the
ground truth of the market both simulators serve."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kiwoom import ENDPOINTS
from kis_intel_assets.kiwoom.endpoints import INVESTOR_FIELD_TO_GROUP
from kis_intel_assets_tests.support.clients import FAST_RETRY

WINDOW = (dt.date(2024, 3, 4), dt.date(2024, 6, 28))  # 80 sessions: 2 pages of 40 after the anchor
MEASURES = ("buy", "buy_value", "sell", "sell_value", "net", "net_value")  # RFC-010: bare name = shares


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).reset_index(drop=True)


def test_investor_trends_equal_ground_truth(kiwoom_sim, make_client):
    client = make_client(kiwoom_sim)
    columns = ["time", "symbol"] + [f"{g}_{m}" for g in INVESTOR_FIELD_TO_GROUP.values() for m in MEASURES]
    for symbol in kiwoom_sim.model.symbols()[:2]:
        got = frame(client.investor_trends(symbol, *WINDOW))[columns]
        truth = kiwoom_sim.truth.investor_trends(*WINDOW, [symbol])[columns]
        pd.testing.assert_frame_equal(got, truth.reset_index(drop=True), check_dtype=False)
        assert len(got) == 80
    assert client.session.metrics.pages > 8  # paged by cont-yn/next-key, 40 rows a page


def test_short_selling_equals_ground_truth(kiwoom_sim, make_client):
    client = make_client(kiwoom_sim)
    columns = ["time", "symbol", "short_volume", "short_amount", "total_volume", "short_ratio"]
    for symbol in kiwoom_sim.model.symbols()[:3]:
        truth = kiwoom_sim.truth.short_selling(*WINDOW, [symbol])[columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame(client.short_selling(symbol, *WINDOW)), truth, check_dtype=False)


@pytest.mark.parametrize("fills_both", [True, False])
def test_program_trading_equals_ground_truth_under_both_fill_variants(
    kiwoom_factory, make_client, fills_both
):
    sim = kiwoom_factory(program_fills_both=fills_both, rate_limit_per_sec=50.0)
    client = make_client(sim)
    symbol = sim.model.symbols()[1]
    truth = sim.truth.program_trading(*WINDOW, [symbol]).reset_index(drop=True)
    got = frame(client.program_trading(symbol, *WINDOW))[list(truth.columns)]
    pd.testing.assert_frame_equal(got, truth, check_dtype=False)


def test_program_trading_all_stocks_equals_ground_truth(kiwoom_sim, make_client):
    client = make_client(kiwoom_sim)
    day = WINDOW[1]
    truth = kiwoom_sim.truth.program_trading(day, day).set_index("symbol").sort_index()
    got = pd.concat([frame(client.program_trading_all(m, day)) for m in ("KOSPI", "KOSDAQ")])
    got = got.set_index("symbol").sort_index()[list(truth.columns)]
    pd.testing.assert_frame_equal(got, truth, check_dtype=False)
    assert len(got) == len(kiwoom_sim.model.symbols())


def test_lending_per_stock_equals_kis_truth(kiwoom_sim, make_client):
    """ka90012 lists the lending KIS reports per stock (HHPST074500C0): one market, two brokers."""
    client = make_client(kiwoom_sim)
    before, day = dt.date(2024, 6, 27), dt.date(2024, 6, 28)
    per_day = {
        d: {r["symbol"]: r for m in ("KOSPI", "KOSDAQ") for r in client.lending_by_stock(m, d)}
        for d in (before, day)
    }
    assert set(per_day[day]) == set(kiwoom_sim.model.symbols())
    columns = ["time", "symbol", "new_volume", "redeemed_volume", "balance_volume", "balance_amount"]
    listed = pd.DataFrame([*per_day[before].values(), *per_day[day].values()])[columns]
    truth = kiwoom_sim.truth.stock_lending(before, day)[columns]
    pd.testing.assert_frame_equal(
        listed.sort_values(["symbol", "time"]).reset_index(drop=True),
        truth.sort_values(["symbol", "time"]).reset_index(drop=True),
        check_dtype=False,
    )


def test_kis_and_kiwoom_describe_the_same_trades(both_sims, make_client, database_url):
    """The same stock-days from both brokers agree on every column both report."""
    kis_sim, kiwoom_sim = both_sims
    kiwoom = make_client(kiwoom_sim)
    kis = KISClient.connect(
        KISConfig(
            app_key="PSkiwoomcompare",
            app_secret="secret-compare",
            database_url=database_url,
            base_url=kis_sim.base_url,
            master_base_url=kis_sim.master_base_url,
            retry=FAST_RETRY,
        )
    )
    try:
        symbol, window = kis_sim.model.symbols()[2], (dt.date(2024, 6, 3), dt.date(2024, 6, 28))
        pairs = [
            (kis.investor_trends(symbol, *window), frame(kiwoom.investor_trends(symbol, *window))),
            (kis.short_selling(symbol, *window), frame(kiwoom.short_selling(symbol, *window))),
            (kis.program_trading(symbol, *window), frame(kiwoom.program_trading(symbol, *window))),
        ]
    finally:
        kis.close()
    for from_kis, from_kiwoom in pairs:
        shared = [c for c in from_kiwoom.columns if c in from_kis.columns]
        assert len(shared) >= 5
        from_kis = from_kis[shared].sort_values("time").reset_index(drop=True)
        pd.testing.assert_frame_equal(from_kis, from_kiwoom[shared], check_dtype=False)


def test_every_registered_tr_answers_rows_over_loopback(kiwoom_sim, make_client):
    """One real call per registry entry (the tests above compare each with ground truth)."""
    client = make_client(kiwoom_sim)
    symbol, day = kiwoom_sim.model.symbols()[0], "20240628"
    bodies = {
        "ka10059": {"dt": day, "stk_cd": symbol, "amt_qty_tp": "1", "trde_tp": "0"},
        "ka10014": {"stk_cd": symbol, "strt_dt": "20240603", "end_dt": day},
        "ka90013": {"stk_cd": symbol, "amt_qty_tp": "1", "date": day},
        "ka90004": {"dt": day, "mrkt_tp": "P00101"},
        "ka90012": {"dt": day, "mrkt_tp": "101"},
    }
    assert set(bodies) == set(ENDPOINTS)
    for api_id, body in bodies.items():
        assert client.session.fetch_rows(ENDPOINTS[api_id], body, symbol=symbol), api_id
