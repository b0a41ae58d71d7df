"""Serve the KRX portal simulator on loopback over the same MarketModel as a KIS simulator, so both
describe the same trades (pass `kis_simulator.model` to share one instance, and its clock)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

import pandas as pd

from kis_intel_assets.background_server import serving_app
from kis_intel_assets.krx import portal
from kis_intel_assets.krx.client import BALANCE_COLUMNS, FLOW_COLUMNS
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.krx_app import Corruption, KRXSimSettings, KRXSimulatorApp
from kis_intel_assets.simulator.krx_market import PlantedMismatch
from kis_intel_assets.simulator.model import MarketModel

MARKETS = tuple(portal.INVESTOR_MARKETS)


class KRXTruth:
    """What the portal serves once a day is published, in the client's frame shapes (ignores the clock)."""

    def __init__(self, app: KRXSimulatorApp) -> None:
        self._market = app.market

    def investor_flows(self, day: date, include_krx_only: bool = False) -> pd.DataFrame:
        records = []
        for market in MARKETS:
            tables = {code: self._market.served_flows(market, day, code) for code in portal.INVESTOR_TYPES}
            for symbol in tables[portal.FOREIGN_TYPES[0]]:
                per_group = {group: tables[code][symbol] for code, group in portal.INVESTOR_TYPES.items()}
                per_group["foreign"] = tuple(
                    a + b for a, b in zip(*(tables[c][symbol] for c in portal.FOREIGN_TYPES), strict=True)
                )
                for group, (buy, sell, buy_value, sell_value) in per_group.items():
                    if group in portal.KRX_ONLY_GROUPS and not include_krx_only:
                        continue
                    records.append(
                        (
                            day,
                            symbol,
                            group,
                            buy,
                            sell,
                            buy - sell,
                            buy_value,
                            sell_value,
                            buy_value - sell_value,
                        )
                    )
        return _sorted(pd.DataFrame(records, columns=FLOW_COLUMNS), ["time", "symbol", "group"])

    def short_balance(self, day: date) -> pd.DataFrame:
        records = []
        for market in MARKETS:
            for symbol in self._market.symbols(market):
                found = self._market.balance_on(symbol, day)
                if found is not None:
                    balance, k = found
                    records.append(
                        (
                            day,
                            symbol,
                            int(balance.quantity[k]),
                            int(balance.amount[k]),
                            balance.listed,
                            balance.ratio(k),
                        )
                    )
        return _sorted(pd.DataFrame(records, columns=BALANCE_COLUMNS), ["time", "symbol"])

    def short_balance_history(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        balance = self._market.balance(symbol)
        records = [
            (day, symbol, int(balance.quantity[k]), int(balance.amount[k]), balance.listed, balance.ratio(k))
            for k, day in enumerate(balance.days.astype(date))
            if start <= day <= end
        ]
        return _sorted(pd.DataFrame(records, columns=BALANCE_COLUMNS), ["time", "symbol"])


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, ignore_index=True)


class KRXSimulator:
    def __init__(self, model: MarketModel, settings: KRXSimSettings) -> None:
        self.model = model
        self.settings = settings
        self.app = KRXSimulatorApp(model, settings)
        self.stats = self.app.stats
        self.truth = KRXTruth(self.app)
        self.base_url = ""

    def plant_mismatch(self, mismatch: PlantedMismatch | None) -> None:
        self.app.market.planted = mismatch

    def corrupt(self, corruption: Corruption | None) -> None:
        self.app.corruption = corruption

    def expire_sessions(self) -> None:
        self.app.expire_sessions()

    def login_elsewhere(self, account: str) -> None:
        self.app.login_elsewhere(account)

    def block(self) -> None:
        self.app.block()

    def unblock(self) -> None:
        self.app.unblock()


@contextlib.contextmanager
def running_krx_simulator(
    market: SimulatorConfig | MarketModel,
    settings: KRXSimSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[KRXSimulator]:
    """Serve a KRX portal simulator on host:port (0 = a free port) for the duration of the block."""
    model = market if isinstance(market, MarketModel) else MarketModel(market)
    simulator = KRXSimulator(model, settings or KRXSimSettings())
    with serving_app(simulator.app.asgi, host, port, "krx-simulator") as base_url:
        simulator.base_url = base_url
        yield simulator
