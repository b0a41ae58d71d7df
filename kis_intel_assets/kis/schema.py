"""What a KIS response looks like: field names, types inferred from the string values, output shapes,
and the accepted baseline those are compared with.

KIS sends every value as a string, so types are inferred from the text. Six-digit numbers are ambiguous
(a volume of 123456 or 12:34:56), so "time" also needs the KIS naming convention (`bsop_hour`,
`stck_cntg_hour`); eight-digit numbers read as a date only when they form a real calendar date.

The baseline (schema_baseline.json next to this module) is a `kis-intel discover` document. The shipped one
was recorded against the simulator, whose field sets follow KIS's official samples (docs/kis_protocol.md §3);
re-record it with real credentials when KIS changes an endpoint on purpose:
`kis-intel discover --output kis_intel_assets/kis/schema_baseline.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from kis_intel_assets.kis.endpoints import ENDPOINTS

BASELINE_PATH = Path(__file__).with_name("schema_baseline.json")
TIME_SUFFIXES = ("_hour", "_time", "_tmd")
NUMERIC = ("date", "time", "int", "decimal")  # narrowest first; a mix widens to the widest present

_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_DATE = re.compile(r"(?:19|20)\d{6}")
_TIME = re.compile(r"\d{6}")


def value_type(name: str, text: str) -> str:
    """One value's type: empty, date, time, int, decimal or text."""
    value = text.strip()
    if value == "":
        return "empty"
    if _DATE.fullmatch(value) and _parses(value, "%Y%m%d"):
        return "date"
    if _TIME.fullmatch(value) and name.endswith(TIME_SUFFIXES) and _parses(value, "%H%M%S"):
        return "time"
    if _INT.fullmatch(value):
        return "int"
    if _DECIMAL.fullmatch(value):
        return "decimal"
    return "text"


def _parses(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def field_type(name: str, values: Iterable[object]) -> str:
    """The type of a field across rows: "empty" when every value is blank; mixed numbers widen (a date
    column with one 7-digit value is an int column), anything with text or a non-string is text."""
    seen = {value_type(name, value) if isinstance(value, str) else "text" for value in values}
    seen.discard("empty")
    if not seen:
        return "empty"
    if "text" in seen:
        return "text"
    if len(seen) == 1:
        return next(iter(seen))
    if "decimal" in seen:
        return "decimal"
    return "int"


def describe_output(payload: object) -> dict[str, Any]:
    """Shape, row count and field types of one `output*` value (a list of rows or one object)."""
    if isinstance(payload, list):
        rows = [row for row in payload if isinstance(row, Mapping)]
        names = sorted({name for row in rows for name in row})
        fields = {name: field_type(name, [row[name] for row in rows if name in row]) for name in names}
        return {"shape": "list", "rows": len(payload), "fields": fields}
    if isinstance(payload, Mapping):
        fields = {name: field_type(name, [value]) for name, value in sorted(payload.items())}
        return {"shape": "object", "rows": 1, "fields": fields}
    return {"shape": type(payload).__name__, "rows": 0, "fields": {}}


def response_schema(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every `output`, `output1`, `output2` … of a success envelope, described."""
    return {key: describe_output(value) for key, value in sorted(body.items()) if key.startswith("output")}


def load_baseline(path: Path | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """TR ID → output key → described output, from a `kis-intel discover` document."""
    source = path or BASELINE_PATH
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        return {tr_id: entry.get("outputs", {}) for tr_id, entry in document["endpoints"].items()}
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"{source} is not a kis-intel discover document: {exc}") from None


def known_fields(baseline: Mapping[str, Mapping[str, Mapping[str, Any]]], tr_id: str) -> frozenset[str]:
    """Row fields that are expected for a TR ID: the registered ones plus those the baseline recorded."""
    endpoint = ENDPOINTS[tr_id]
    recorded = baseline.get(tr_id, {}).get(endpoint.rows_key, {}).get("fields", {})
    return frozenset(recorded) | {spec.source for spec in endpoint.fields}


@cache
def shipped_baseline() -> dict[str, dict[str, dict[str, Any]]]:
    return load_baseline()
