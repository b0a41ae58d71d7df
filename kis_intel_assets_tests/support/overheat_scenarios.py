"""공매도 과열종목 test market: 16 stocks whose 2025-12-15 (T) hits each designation type per market, its
priority and its exclusions, after a uniform 1 % 2025Q3 (quarter threshold 3 %)."""

from __future__ import annotations

from datetime import date

import pandas as pd

T = date(2025, 12, 15)
AFTER_T = [date(2025, 12, 16), date(2025, 12, 17), date(2025, 12, 18)]


def rows(symbol: str, market: str, days: list[date], short: int = 100, trading: int = 10_000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": days,
            "symbol": symbol,
            "market": market,
            "close": 1_000,
            "trading_value": trading,
            "short_amount": short,
            "short_ratio": round(100 * short / trading, 2) if trading else 0.0,
        }
    )


def on_day(frame: pd.DataFrame, symbol: str, day: date, close: int, short: int, ratio: float) -> None:
    at = (frame["symbol"] == symbol) & (frame["time"] == day)
    assert at.sum() == 1
    frame.loc[at, ["close", "short_amount", "short_ratio"]] = [close, short, ratio]
    frame.loc[at, "trading_value"] = round(short * 100 / ratio) if ratio else 10_000


# symbol: (market, Q4 baseline short per 10,000 traded, close on T, short value on T, short ratio on T)
SCENARIOS = {
    "KSPI01": ("KOSPI", 100, 930, 700, 5.0),  # ① drop 7%, ratio 5% ≥ 3 × 1%, multiple 7 ≥ 6
    "KSPI1B": ("KOSPI", 100, 950, 700, 5.0),  # ① at exactly -5%
    "KSPINO": ("KOSPI", 100, 951, 700, 5.0),  # -4.9%: no type
    "KSPILR": ("KOSPI", 100, 930, 700, 2.5),  # ratio below the quarter threshold: no type
    "KSPI55": ("KOSPI", 100, 930, 550, 5.0),  # multiple 5.5 < 6 on KOSPI: no type
    "KSPI02": ("KOSPI", 100, 880, 700, 5.0),  # ② drop 12%, multiple 7
    "KSPI04": ("KOSPI", 100, 960, 300, 35.0),  # ④ drop 4%, ratio 35%, multiple 3
    "KSPI3X": ("KOSPI", 600, 1_000, 3_600, 6.0),  # type ③ conditions, but ③ is KOSDAQ only
    "KSDQ01": ("KOSDAQ", 100, 930, 550, 5.0),  # ① with KOSDAQ's 5× multiple
    "KSDQ02": ("KOSDAQ", 100, 890, 500, 5.0),  # ② drop 11%, multiple 5
    "KSDQ03": ("KOSDAQ", 600, 1_000, 3_000, 6.0),  # ③ multiple 5, 40-day ratio 6% ≥ 5%
    "KSDQ04": ("KOSDAQ", 100, 960, 300, 35.0),  # ④
    "KSDQ3F": ("KOSDAQ", 400, 1_000, 2_000, 6.0),  # ③ needs a 40-day ratio ≥ 5%: 4% fails
    "PRI134": ("KOSDAQ", 600, 930, 3_600, 35.0),  # ① ③ ④ all match -> ①
    "PRI234": ("KOSDAQ", 600, 880, 3_000, 35.0),  # ② ③ ④ -> ②
    "PRI34X": ("KOSDAQ", 600, 960, 3_000, 35.0),  # ③ ④ -> ③
}
EXPECTED = {"KSPI01": 1, "KSPI1B": 1, "KSPI02": 2, "KSPI04": 4, "KSDQ01": 1, "KSDQ02": 2, "KSDQ03": 3,
            "KSDQ04": 4, "PRI134": 1, "PRI234": 2, "PRI34X": 3}  # fmt: skip


def scenario_frame() -> pd.DataFrame:
    """2025Q3 at a uniform 1% short ratio (quarter threshold 3%), Q4 with each scenario's baseline."""
    q3 = [d.date() for d in pd.bdate_range("2025-07-01", "2025-09-30")]
    q4 = [d.date() for d in pd.bdate_range("2025-10-01", T)] + AFTER_T
    frames = []
    for symbol, (market, baseline, *_) in SCENARIOS.items():
        frames += [rows(symbol, market, q3), rows(symbol, market, q4, short=baseline)]
    frame = pd.concat(frames, ignore_index=True)
    for symbol, (_, _, close, short, ratio) in SCENARIOS.items():
        on_day(frame, symbol, T, close, short, ratio)
        for day in AFTER_T:  # stays at T's close after it
            frame.loc[(frame["symbol"] == symbol) & (frame["time"] == day), "close"] = close
    return frame
