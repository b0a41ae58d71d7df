"""Strict reading of the portal's formatted strings ("1,234,567", "-225,147", "0.07").

A missing field, a non-string, or text that is not a number is a KRXPayloadError naming bld, symbol and
field; "" and "-" (the portal's "no value") are accepted only where the caller says the value may be absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kis_intel_assets.krx.errors import KRXPayloadError

_INT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)")
_DECIMAL = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
ABSENT = ("", "-")


class RowReader:
    """Reads fields of one answer row of `bld`; errors name the row's symbol once it is known."""

    def __init__(self, row: object, bld: str, symbol: str | None = None) -> None:
        if not isinstance(row, Mapping):
            raise KRXPayloadError(bld, symbol, "row", f"not an object: {type(row).__name__}")
        self.row: Mapping[str, Any] = row
        self.bld = bld
        self.symbol = symbol

    def fail(self, field: str, problem: str) -> KRXPayloadError:
        return KRXPayloadError(self.bld, self.symbol, field, problem)

    def text(self, field: str) -> str:
        if field not in self.row:
            raise self.fail(field, "missing")
        value = self.row[field]
        if not isinstance(value, str):
            raise self.fail(field, f"expected a string, got {type(value).__name__}")
        return value.strip()

    def symbol_code(self, field: str) -> str:
        """The 6-character short code; it becomes the symbol later errors of this row name."""
        code = self.text(field)
        if not re.fullmatch(r"[0-9A-Z]{6}", code):
            raise self.fail(field, f"not a 6-character stock code: {code[:20]!r}")
        self.symbol = code
        return code

    def integer(self, field: str) -> int:
        text = self.text(field)
        if not _INT.fullmatch(text):
            raise self.fail(field, f"not an integer: {text[:40]!r}")
        return int(text.replace(",", ""))

    def decimal(self, field: str, *, optional: bool = False) -> float | None:
        text = self.text(field)
        if optional and text in ABSENT:
            return None
        if not _DECIMAL.fullmatch(text):
            raise self.fail(field, f"not a number: {text[:40]!r}")
        return float(text.replace(",", ""))


def rows_of(body: object, key: str, bld: str) -> list[object]:
    """The row list of an answer envelope ({"output": [...]} or {"OutBlock_1": [...]})."""
    if not isinstance(body, Mapping):
        raise KRXPayloadError(bld, None, key, f"answer is not an object: {type(body).__name__}")
    rows = body.get(key)
    if not isinstance(rows, list):
        raise KRXPayloadError(bld, None, key, "missing" if rows is None else "not a list")
    return rows
