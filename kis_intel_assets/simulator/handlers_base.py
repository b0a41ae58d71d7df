"""Request parameters, replies and the TR registry shared by the endpoint handler modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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

    def optional_date(self, name: str) -> np.datetime64 | None:
        """The date, or None when the parameter is blank (KIS: "the latest day")."""
        return self.date(name) if self._params.get(name, "") != "" else None

    def normalised(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._params.items()))


Encoder = Callable[[Sequence[int]], list[dict[str, str]]]


@dataclass
class Reply:
    """A handler's answer: fixed objects (`head`) plus an optional list built page by page from `items`."""

    head: Mapping[str, object] = field(default_factory=dict)
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


BLANK_TODAY = -1  # an item standing for today's row before publication: its date, every value ""


def publication_gate(model: MarketModel, tr_id: str, anchor: np.datetime64 | None) -> date | None:
    """Apply `tr_id`'s form before today's publication (clock.py) to a request anchored on `anchor`
    (None = the latest day): "refuse" raises TIME LIMIT, "blank" returns today for a BLANK_TODAY row;
    "absent" (and "partial", which the handler draws itself) return None."""
    pending = model.pending_today(tr_id)
    if pending is None:
        return None
    publication = model.publication(tr_id)
    asks_today = anchor is None or anchor >= np.datetime64(pending, "D")
    if publication.before == "refuse" and (model.config.time_limit_scope == "all" or asks_today):
        last_refused = datetime.combine(pending, publication.final_after) - timedelta(minutes=1)
        raise errors.time_limit(f"{last_refused:%H:%M}")
    return pending if publication.before == "blank" and asks_today else None


def with_blank_today(items: list[int], encode: Encoder, today: date | None) -> tuple[list[int], Encoder]:
    """Put today's blank row on top of `items` (shaped like a served row) when `today` is given."""
    real = next((i for i in items if i != BLANK_TODAY), None)
    if today is None or real is None:
        return items, encode

    def encoded(positions: Sequence[int]) -> list[dict[str, str]]:
        rows = encode([p for p in positions if p != BLANK_TODAY])
        if BLANK_TODAY in positions:
            template = encode([real])[0]
            rows.insert(0, {**dict.fromkeys(template, ""), "stck_bsop_date": str(today).replace("-", "")})
        return rows

    return [BLANK_TODAY, *items], encoded


def earliest(model: MarketModel) -> np.datetime64:
    return model.days[0]


def last_final_day(model: MarketModel, query: Query, name: str, tr_id: str | None = None) -> np.datetime64:
    """The last day the date parameter `name` asks for (blank: the newest), never past the last day `tr_id`
    serves as final: a day not published yet is absent."""
    cutoff = model.cutoff(tr_id)
    return min(query.date(name, cutoff), cutoff)


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
