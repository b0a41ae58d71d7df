"""Number formats shared by the figures and the tables (KRW in 억원/조원, percents, basis points)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

INVESTOR_LABELS = {
    "foreign": "외국인 (foreign)",
    "institution": "기관 (institution)",
    "individual": "개인 (individual)",
    "total": "외국인+기관 (foreign + institution)",
}
RULE_LABELS = {1: "① 하락+비중+배율", 2: "② 급락+배율", 3: "③ 배율+40일 비중", 4: "④ 하락+고비중+배율"}


def missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _float(value: object) -> float:
    """A table cell that is not missing(): a number as pandas or psycopg give it (int, Decimal, numpy)."""
    return float(value)  # type: ignore[arg-type]  # cells arrive as object; float() checks at run time


def krw(value: object, signed: bool = False) -> str:
    """KRW in 조원 from 1조, else 억원: the units Korean market pages use."""
    if missing(value):
        return "n/a"
    number = _float(value)
    sign = "+" if signed else ""
    if abs(number) >= 1e12:
        return f"{number / 1e12:{sign},.2f}조원"
    return f"{number / 1e8:{sign},.1f}억원"


def pct(value: object, digits: int = 2, signed: bool = False) -> str:
    if missing(value):
        return "n/a"
    return f"{_float(value):{'+' if signed else ''}.{digits}f}%"


def bp(value: object) -> str:
    return "n/a" if missing(value) else f"{_float(value):+.2f}bp"


def number(value: object, digits: int = 2) -> str:
    return "n/a" if missing(value) else f"{_float(value):,.{digits}f}"


def day_text(value: object) -> str:
    if missing(value):
        return "—"
    return value.isoformat() if isinstance(value, date) else str(value)
