"""Request parameters, replies and the TR registry shared by the endpoint handler modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from kis_intel_assets.simulator import errors
from kis_intel_assets.simulator.model import MarketModel, UnknownSymbolError
from kis_intel_assets.simulator.series import SymbolSeries

MARKET_DIV_CODES = ("J", "NX", "UN")


class Query:
    """Query parameters with case-insensitive names (samples send UPPER, Postman lower)."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self._params = {k.upper(): v.strip() for k, v in params.items()}

    def text(self, name: str, default: str | None = None) -> str:
        value = self._params.get(name)
        if value is None or value == "":
            if default is None:
                raise errors.bad_param(name, "is required")
            return default
        return value

    def choice(self, name: str, options: Sequence[str], default: str | None = None) -> str:
        value = self.text(name, default)
        if value not in options:
            raise errors.bad_param(name, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def date(self, name: str, blank: np.datetime64 | None = None) -> np.datetime64:
        raw = self._params.get(name, "")
        if raw == "":
            if blank is None:
                raise errors.bad_param(name, "is required (YYYYMMDD)")
            return blank
        try:
            return np.datetime64(datetime.strptime(raw, "%Y%m%d").date(), "D")
        except ValueError:
            raise errors.bad_param(name, f"must be a date YYYYMMDD, got {raw!r}") from None

    def normalised(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._params.items()))


Encoder = Callable[[Sequence[int]], list[dict[str, str]]]


@dataclass
class Reply:
    """A handler's answer: fixed objects (`head`) plus an optional list built page by page from `items`."""

    head: dict[str, object] = field(default_factory=dict)
    list_key: str | None = None
    items: Sequence[int] = ()
    encode: Encoder | None = None
    paged: bool = False
    symbol: str | None = None


Handler = Callable[[MarketModel, Query], Reply]


@dataclass(frozen=True)
class Service:
    tr_id: str
    path: str  # under /uapi/domestic-stock/v1/
    handler: Handler
    real_only: bool


REGISTRY: dict[str, Service] = {}


def service(tr_id: str, path: str, real_only: bool) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[tr_id] = Service(tr_id, path, handler, real_only)
        return handler

    return register


def load_series(model: MarketModel, query: Query, param: str = "FID_INPUT_ISCD") -> SymbolSeries:
    symbol = query.text(param)
    try:
        return model.series(symbol)
    except UnknownSymbolError:
        raise errors.no_data(f"unknown stock code {symbol!r}") from None


def newest_first(series: SymbolSeries, first: np.datetime64, last: np.datetime64) -> list[int]:
    lo, hi = series.span(first, last)
    return list(range(hi - 1, lo - 1, -1))


def earliest(model: MarketModel) -> np.datetime64:
    return model.days[0]


# How a stock answers a range it has no day in (before its listing, after its delisting), as seen live.
_ZERO_PRICE_HEAD = {
    "stck_prpr": "0",
    "prdy_vrss": "0",
    "prdy_vrss_sign": "3",
    "prdy_ctrt": "0.00",
    "acml_vol": "0",
}


def no_rows(model: MarketModel, symbol: str, list_key: str, *, has_head: bool) -> Reply:
    """The configured no-data answer: rt_cd "7" KIOK0560, an empty `{}` row, or output1 stck_prpr "0"
    with no rows (an endpoint without output1 answers an empty list for the last form)."""
    form = model.config.no_data_form
    if form == "rt7":
        raise errors.no_data(f"{symbol} has no trading day in the requested range")
    if form == "empty_row":
        head: dict[str, object] = {"output1": {}} if has_head else {}
        return Reply(head, list_key, [0], lambda _: [{}], paged=False, symbol=symbol)
    head = {"output1": dict(_ZERO_PRICE_HEAD)} if has_head else {}
    return Reply(head, list_key, [], lambda _: [], paged=False, symbol=symbol)
