"""Turns KIS string values into typed columns. A missing field or a non-number is a
KISPayloadError naming TR ID, symbol and field; only "" becomes NULL, and only where the column allows it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kis_intel_assets.kis.endpoints import Endpoint, Field, Kind
from kis_intel_assets.kis.errors import KISPayloadError

Value = int | float | str | dt.date | dt.time | None
Row = dict[str, Value]

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{8}")
_TIME = re.compile(r"\d{6}")


def parse_value(raw: object, spec: Field, *, tr_id: str, symbol: str | None) -> Value:
    def fail(problem: str) -> KISPayloadError:
        return KISPayloadError(tr_id=tr_id, symbol=symbol, field=spec.source, problem=problem)

    if not isinstance(raw, str):
        raise fail(f"expected a string, got {type(raw).__name__}")
    text = raw.strip()
    if text == "":
        if spec.required:
            raise fail("empty but required")
        return None
    if spec.kind is Kind.TEXT:
        return text
    if spec.kind is Kind.INT:
        if not _INT.fullmatch(text):
            raise fail(f"not an integer: {text[:40]!r}")
        return int(text) * spec.scale
    if spec.kind is Kind.FLOAT:
        if not _FLOAT.fullmatch(text):
            raise fail(f"not a number: {text[:40]!r}")
        return round(float(text) * spec.scale, 2)
    pattern, fmt = (_DATE, "%Y%m%d") if spec.kind is Kind.DATE else (_TIME, "%H%M%S")
    if not pattern.fullmatch(text):
        raise fail(f"not a {spec.kind.value}: {text[:40]!r}")
    try:
        parsed = dt.datetime.strptime(text, fmt)
    except ValueError:
        raise fail(f"not a valid {spec.kind.value}: {text!r}") from None
    return parsed.date() if spec.kind is Kind.DATE else parsed.time()


def parse_row(raw: object, endpoint: Endpoint, *, symbol: str | None) -> Row:
    """Maps one KIS row (a dict of strings) to DB columns using the endpoint's field map."""
    if not isinstance(raw, Mapping):
        raise KISPayloadError(
            tr_id=endpoint.tr_id, symbol=symbol, field=endpoint.rows_key, problem="row is not an object"
        )
    row: Row = {}
    for spec in endpoint.fields:
        if spec.source in raw:
            row[spec.column] = parse_value(raw[spec.source], spec, tr_id=endpoint.tr_id, symbol=symbol)
        elif spec.sum_of:
            row[spec.column] = _sum_of_parts(raw, spec, tr_id=endpoint.tr_id, symbol=symbol)
        else:
            raise KISPayloadError(tr_id=endpoint.tr_id, symbol=symbol, field=spec.source, problem="missing")
    return row


def _sum_of_parts(raw: Mapping[str, Any], spec: Field, *, tr_id: str, symbol: str | None) -> Value:
    """An absent total as the sum of its parts; a missing part names the total it was needed for."""
    total: float = 0
    for part in spec.sum_of:
        if part not in raw:
            raise KISPayloadError(
                tr_id=tr_id, symbol=symbol, field=part, problem=f"missing (and so is {spec.source})"
            )
        value = parse_value(raw[part], replace(spec, source=part), tr_id=tr_id, symbol=symbol)
        if value is None:
            return None
        total += value  # type: ignore[operator]  # the parts of a sum are numeric fields
    return total


def is_unpublished(raw: object, endpoint: Endpoint) -> bool:
    """True for a row that carries its date but every value blank (FHKST01010900's today before 15:40)."""
    values = [spec for spec in endpoint.fields if spec.kind not in (Kind.DATE, Kind.TIME)]
    return isinstance(raw, Mapping) and all(raw.get(spec.source) == "" for spec in values)


def is_empty(raw: object) -> bool:
    """An empty object `{}`: KIS's "no rows" inside a list (`output2: [{}]`), unlike a row missing fields."""
    return isinstance(raw, Mapping) and not raw


def extract_rows(body: Mapping[str, Any], endpoint: Endpoint, *, symbol: str | None) -> list[object]:
    """The raw row list (or the single object as a one-element list) from a success envelope."""

    def fail(problem: str) -> KISPayloadError:
        return KISPayloadError(tr_id=endpoint.tr_id, symbol=symbol, field=endpoint.rows_key, problem=problem)

    if endpoint.rows_key not in body:
        raise fail("missing")
    payload = body[endpoint.rows_key]
    if endpoint.is_list:
        if not isinstance(payload, list):
            raise fail("expected a list")
        return payload
    if not isinstance(payload, Mapping):
        raise fail("expected an object")
    return [payload]


def parse_rows(
    raw_rows: list[object],
    endpoint: Endpoint,
    *,
    symbol: str | None,
    window: tuple[dt.date, dt.date] | None = None,
) -> list[Row]:
    """Typed rows; with a date `window`, rows outside it keep only their date.

    A daily run needs one row of a 100-row page: parsing just the date of the others keeps the paging
    logic (which looks at every date) intact at a fraction of the CPU. Rows inside the window, and any
    row whose date itself is malformed, are parsed strictly.
    """
    day_field = next((f for f in endpoint.fields if f.column == "time" and f.kind is Kind.DATE), None)
    rows: list[Row] = []
    for raw in raw_rows:
        if is_unpublished(raw, endpoint) or (endpoint.is_list and is_empty(raw)):
            continue
        if window and day_field and isinstance(raw, Mapping) and day_field.source in raw:
            day = parse_value(raw[day_field.source], day_field, tr_id=endpoint.tr_id, symbol=symbol)
            if isinstance(day, dt.date) and not window[0] <= day <= window[1]:
                rows.append({"time": day})
                continue
        rows.append(parse_row(raw, endpoint, symbol=symbol))
    return rows
