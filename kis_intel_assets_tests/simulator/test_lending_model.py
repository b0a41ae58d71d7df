"""The simulator's stock lending is consistent with its market: the balance moves by exactly new −
redeemed and never goes negative, new loans follow the stock's short selling, the balance decays under a
short-selling ban, and the KRW balance is the share balance at the close."""

from __future__ import annotations

from datetime import date

import numpy as np

from kis_intel_assets.simulator import SimulatorConfig
from kis_intel_assets.simulator.lending import stock_lending
from kis_intel_assets.simulator.model import MarketModel

BAN = (date(2023, 11, 6), date(2025, 3, 30))  # KRX's full ban (krx_market: 2023-11-06..2025-03-30)


def test_lending_follows_short_selling_and_never_goes_negative() -> None:
    model = MarketModel(SimulatorConfig(seed=5, n_symbols=30, start=date(2023, 1, 2), end=date(2025, 6, 30)))
    correlations, decays = [], []
    for symbol in model.symbols():
        series, lending = stock_lending(model, symbol)
        assert (lending.balance >= 0).all() and (lending.new >= 0).all() and (lending.redeemed >= 0).all()
        assert (lending.balance - lending.previous_balance == lending.new - lending.redeemed).all()
        assert (lending.previous_balance[1:] == lending.balance[:-1]).all()
        assert (lending.amount == lending.balance * series.prices.close).all()
        assert (lending.new[series.prices.volume == 0] == 0).all()  # a halted day lends nothing
        open_days = series.short_volume > 0
        if open_days.sum() > 50:
            correlations.append(np.corrcoef(series.short_volume[open_days], lending.new[open_days])[0, 1])
        inside = (series.days >= np.datetime64(BAN[0])) & (series.days <= np.datetime64(BAN[1]))
        member = bool(model.universe.index_member[model.position(symbol)])  # may short before the ban
        if member and inside.sum() > 300:
            first, last = np.flatnonzero(inside)[[0, -1]]
            decays.append(lending.balance[last] / max(lending.balance[first], 1))
    assert correlations and np.median(correlations) > 0.5
    assert decays and np.median(decays) < 0.5  # repayments outrun the few new loans of a ban


def test_lending_does_not_depend_on_request_order() -> None:
    config = SimulatorConfig(seed=5, n_symbols=8, start=date(2024, 1, 2), end=date(2024, 12, 30))
    first, second = MarketModel(config), MarketModel(config)
    symbols = first.symbols()
    for symbol in reversed(symbols):
        stock_lending(second, symbol)
    for symbol in symbols:
        a, b = stock_lending(first, symbol)[1], stock_lending(second, symbol)[1]
        assert (a.balance == b.balance).all() and (a.new == b.new).all()
