"""The client against the KRX simulator over loopback, for every bld: equal to the KRX ground truth and to
the KIS simulator's flows for the same stock-days (volumes exactly, values within KIS's rounding)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from kis_intel_assets.krx import FLOW_COLUMNS, KRXClient, portal
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.groups import KIS_PREFIX, foreign_split, group_flows
from kis_intel_assets.simulator.krx_market import KRXMarket, PlantedMismatch
from kis_intel_assets.simulator.krx_server import KRXSimulator
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets_tests.support.krx import DAY, MARKET

# client group -> (KIS field prefix, number of KRX types summed into it)
KIS_OF_GROUP = {
    "securities": ("scrt", 1),
    "insurance": ("insu", 1),
    "investment_trust": ("ivtr", 1),
    "private_fund": ("pe_fund", 1),
    "bank": ("bank", 1),
    "merchant_bank": ("mrbn", 1),
    "pension_fund": ("fund", 1),
    "institution": ("orgn", 7),
    "other_corporation": ("etc_corp", 1),
    "retail": ("prsn", 1),
    "foreign": ("frgn", 2),
}
GROUP_OF_PREFIX = {prefix: group for group, prefix in KIS_PREFIX.items()}


def kis_flows(kis: Simulator, day: dt.date) -> pd.DataFrame:
    """The KIS simulator's per-stock flows for `day`: volumes in shares, values in KRW million."""
    records = []
    for symbol in kis.model.symbols():
        series = kis.model.series(symbol)
        k = int(np.searchsorted(series.days, np.datetime64(day, "D")))
        if k == len(series.days) or series.days[k] != np.datetime64(day, "D"):
            continue
        flows = group_flows(series, np.array([k]))
        for group, (prefix, _) in KIS_OF_GROUP.items():
            g = flows[GROUP_OF_PREFIX[prefix]]
            records.append(
                (
                    symbol,
                    group,
                    int(g.buy_qty[0]),
                    int(g.sell_qty[0]),
                    int(g.buy_value_m[0]),
                    int(g.sell_value_m[0]),
                )
            )
    return pd.DataFrame(records, columns=["symbol", "group", "buy", "sell", "buy_value_m", "sell_value_m"])


def test_investor_flows_equal_truth_and_kis(
    kis_sim: Simulator, krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    client = make_client(krx_sim)
    flows = client.investor_flows(DAY)

    assert list(flows.columns) == FLOW_COLUMNS
    pd.testing.assert_frame_equal(flows, krx_sim.truth.investor_flows(DAY))
    # one MDCSTAT02401 request per investor type (12) and market (2), after one login (3 steps, or 4 when
    # an earlier test's session of the same account was still live: CD011, then skipDup=Y)
    assert client.requests[portal.INVESTOR_BLD] == 24 and client.logins == 1
    assert client.request_count == 24 + client.requests["login"]
    assert set(flows.group) == set(KIS_OF_GROUP)
    assert set(flows.symbol) == set(kis_sim.truth.listed_symbols(DAY))

    kis = kis_flows(kis_sim, DAY)
    both = flows.merge(kis, on=["symbol", "group"], suffixes=("", "_kis"), validate="one_to_one")
    assert len(both) == len(flows) == len(kis)
    assert (both.buy == both.buy_kis).all() and (both.sell == both.sell_kis).all()
    assert (both.net == both.buy_kis - both.sell_kis).all()
    parts = both.group.map(lambda g: KIS_OF_GROUP[g][1])
    for side in ("buy", "sell"):
        gap = (both[f"{side}_value"] - both[f"{side}_value_m"] * 1_000_000).abs()
        assert (gap < parts * 250_000).all(), side
        single = parts == 1
        assert (np.round(both[f"{side}_value"][single] / 1e6) == both[f"{side}_value_m"][single]).all()
    assert (flows.buy_value % 1_000_000 != 0).any(), "KRX values carry KRW below the million"


def test_krx_only_group_and_foreign_split(
    krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    flows = make_client(krx_sim).investor_flows(DAY, include_krx_only=True, markets=("KOSDAQ",))
    pd.testing.assert_frame_equal(
        flows,
        krx_sim.truth.investor_flows(DAY, include_krx_only=True).pipe(
            lambda f: f[f.symbol.isin(krx_sim.app.market.symbols("KOSDAQ"))].reset_index(drop=True)
        ),
    )
    wide = flows.pivot(index="symbol", columns="group", values="buy")
    series = krx_sim.model.series(wide.index[0])
    k = int(np.searchsorted(series.days, np.datetime64(DAY, "D")))
    _, rest = foreign_split(group_flows(series, np.array([k]))[GROUP_OF_PREFIX["frgn"]])
    assert wide.other_foreign.iloc[0] == int(rest.buy_qty[0])
    assert (wide.other_foreign <= wide.foreign).all() and (wide.other_foreign > 0).any()


def test_short_balance_equals_truth_and_follows_short_volume(
    kis_sim: Simulator, krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    client = make_client(krx_sim)
    balance = client.short_balance(DAY)
    pd.testing.assert_frame_equal(balance, krx_sim.truth.short_balance(DAY))
    assert client.requests[portal.BALANCE_BLD] == 2
    master = kis_sim.truth.stock_master().drop_duplicates("symbol").set_index("symbol")
    assert (balance.listed_shares.to_numpy() == master.listed_shares.loc[balance.symbol].to_numpy()).all()
    assert (balance.balance_ratio == (balance.balance_volume / balance.listed_shares * 100).round(2)).all()

    symbol = balance.symbol[0]
    history = client.short_balance_history(symbol, dt.date(2025, 3, 4), DAY)
    pd.testing.assert_frame_equal(
        history, krx_sim.truth.short_balance_history(symbol, dt.date(2025, 3, 4), DAY)
    )
    assert client.requests[portal.BALANCE_ONE_BLD] == 1
    shorts = kis_sim.truth.short_selling(dt.date(2025, 3, 4), DAY, [symbol]).set_index("time").short_volume
    quantity = history.set_index("time").balance_volume
    grown = quantity.diff().dropna()
    assert (grown <= shorts.loc[grown.index]).all(), "a balance grows by at most the day's short volume"
    assert (shorts[shorts.index >= dt.date(2025, 4, 1)] > 0).any() and (grown > 0).any()
    close = kis_sim.truth.daily_prices(DAY, DAY, [symbol]).close.iloc[0]
    assert history.balance_amount.iloc[-1] == history.balance_volume.iloc[-1] * close


@pytest.mark.parametrize(
    "settings", [{"zero_rows": "omit"}, {"state_in_pension_fund": True}, {"value_residuals": False}]
)
def test_client_equals_truth_under_simulator_variants(
    kis_sim: Simulator,
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
    settings: dict[str, object],
) -> None:
    sim = krx_simulator_factory(kis_sim.model, **settings)
    flows = make_client(sim).investor_flows(DAY)
    truth = sim.truth.investor_flows(DAY)
    if settings.get("zero_rows") == "omit":
        # a stock no type traded (a halt) is absent from every table, so from the frame too
        traded = truth.groupby("symbol")[["buy", "sell"]].sum().sum(axis=1).loc[lambda s: s > 0].index
        truth = truth[truth.symbol.isin(traded)].reset_index(drop=True)
    pd.testing.assert_frame_equal(flows, truth)
    if settings.get("value_residuals") is False:
        assert (flows.buy_value % 1_000_000 == 0).all()


def test_planted_mismatch_names_one_symbol_and_group(
    kis_sim: Simulator,
    krx_simulator_factory: Callable[..., KRXSimulator],
    make_client: Callable[..., KRXClient],
) -> None:
    symbol = kis_sim.truth.listed_symbols(DAY)[3]
    sim = krx_simulator_factory(
        kis_sim.model, planted_mismatch=PlantedMismatch(symbol, "foreign", 12_345, DAY)
    )
    flows = make_client(sim).investor_flows(DAY)
    both = flows.merge(kis_flows(kis_sim, DAY), on=["symbol", "group"], suffixes=("", "_kis"))
    off = both[both.net != both.buy_kis - both.sell_kis]
    assert off[["symbol", "group"]].values.tolist() == [[symbol, "foreign"]]
    assert int(off.net.iloc[0] - (off.buy_kis.iloc[0] - off.sell_kis.iloc[0])) == 12_345


def test_non_trading_day_is_empty_without_a_request(
    krx_sim: KRXSimulator, make_client: Callable[..., KRXClient]
) -> None:
    client = make_client(krx_sim)
    assert client.investor_flows(dt.date(2025, 6, 21)).empty  # a Saturday
    assert client.short_balance(dt.date(2025, 6, 6)).empty  # 현충일
    assert client.short_balance(dt.date(2016, 6, 29)).empty  # before the portal's balance history
    assert client.short_balance_history("005930", dt.date(2016, 1, 4), dt.date(2016, 6, 29)).empty
    assert client.request_count == 0


def test_same_seed_same_portal_data() -> None:
    one, two = (
        KRXMarket(MarketModel(MARKET), state_in_pension_fund=False, value_residuals=True) for _ in range(2)
    )
    assert one.investor_table("KOSDAQ", DAY) == two.investor_table("KOSDAQ", DAY)
    symbol = one.symbols("KOSPI")[0]
    assert (one.balance(symbol).quantity == two.balance(symbol).quantity).all()
