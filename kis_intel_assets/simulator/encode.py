"""KIS wire encoding: every value a string, "" for null, explicit "-" on negatives, rates with 2 decimals."""

from __future__ import annotations

from datetime import date

import numpy as np

from kis_intel_assets.simulator.ticks import ceil_to_tick, floor_to_tick


def num(value: float | int | np.integer | np.floating) -> str:
    return str(int(value))


def rate(value: float) -> str:
    return f"{round(float(value), 2):.2f}"


def percent(numerator: float, denominator: float) -> float:
    """Percent with 2 decimals, shared by served strings and ground truth so both agree exactly."""
    return round(float(numerator) / float(denominator) * 100.0, 2) if denominator else 0.0


def ymd(day: np.datetime64 | date) -> str:
    return str(np.datetime64(day).astype("datetime64[D]")).replace("-", "")


def limits(previous_close: int) -> tuple[int, int]:
    """(lower, upper) daily price limits, ±30% of the previous close on the tick grid."""
    prev = np.array([previous_close], dtype=float)
    return int(ceil_to_tick(prev * 0.7)[0]), int(floor_to_tick(prev * 1.3)[0])


def change_fields(close: int, previous: int) -> dict[str, str]:
    """prdy_vrss (signed), prdy_vrss_sign (1 limit up, 2 up, 3 flat, 4 limit down, 5 down), prdy_ctrt."""
    change = int(close) - int(previous)
    lower, upper = limits(int(previous))
    if change > 0:
        sign = "1" if close >= upper else "2"
    elif change < 0:
        sign = "4" if close <= lower else "5"
    else:
        sign = "3"
    return {"prdy_vrss": num(change), "prdy_vrss_sign": sign, "prdy_ctrt": rate(percent(change, previous))}


def index_change_fields(close: float, previous: float) -> dict[str, str]:
    change = round(float(close) - float(previous), 2)
    sign = "2" if change > 0 else "5" if change < 0 else "3"
    return {
        "bstp_nmix_prdy_vrss": rate(change),
        "prdy_vrss_sign": sign,
        "bstp_nmix_prdy_ctrt": rate(percent(change, previous)),
    }
