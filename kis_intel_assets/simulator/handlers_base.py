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
FROM_THE_EARLIEST = "00000101"  # python-kis sends it as a start date meaning "from the first day"
EARLIEST = np.datetime64("1900-01-01", "D")


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
        if raw == FROM_THE_EARLIEST:
            return EARLIEST
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
