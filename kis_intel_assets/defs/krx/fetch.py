"""Reading KRX for a window: every day or a clear failure, restricted to the stocks the universe follows.

Shared by the KRX assets and investor_trends' fast path, so both fail the same way: a day not published
yet ends the fetch and fails the run with the day and when it becomes available (nothing is written), a
block fails at once without a retry (retrying extends it), and a bad field is the failed schema check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pandas as pd

from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest.collect import _rejected, check_frame
from kis_intel_assets.defs.ingest.universe import listed_symbols
from kis_intel_assets.defs.krx import schemas
from kis_intel_assets.defs.krx.resources import KRXResource
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.krx import (
    KRXBlockedError,
    KRXClient,
    KRXLoginError,
    KRXNotPublishedError,
    KRXPayloadError,
)
from kis_intel_assets.krx.portal import INVESTOR_BLD
from kis_intel_assets.krx_calendar import trading_days


def fetch_days(
    fetch: Callable[[date], pd.DataFrame], table: str, bld: str, days: Sequence[date]
) -> pd.DataFrame:
    """Every day's frame from KRX, or a failure that says why nothing is written.

    A day not published yet ends the fetch (later days are not published either) and fails the run with
    the day and the time it becomes available; a block fails at once without a retry (retrying extends
    it); a bad field is the failed schema check of `table`.
    """
    frames: list[pd.DataFrame] = []
    for day in days:
        try:
            frames.append(fetch(day))
        except KRXNotPublishedError as error:
            raise deterministic_failure(
                f"KRX {bld} → {table}: {error.day} is not published yet (KRX publishes it from "
                f"{error.available_from:%Y-%m-%d %H:%M} KST); nothing was written for {days[0]}..{days[-1]}, "
                "re-run the partition after that",
                metadata={"unpublished_from": error.day.isoformat()},
            ) from None
        except KRXBlockedError as error:
            raise deterministic_failure(f"KRX {bld} → {table}: {error}; nothing was written") from None
        except KRXLoginError as error:
            raise deterministic_failure(f"KRX {bld} → {table}: {error}; check KRX_ID / KRX_PW") from None
        except KRXPayloadError as error:
            metadata = {"symbol": error.symbol or "", "field": error.field}
            raise _rejected(table, bld, str(error), metadata) from None
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def followed(database: DatabaseResource, frame: pd.DataFrame, start: date) -> pd.DataFrame:
    """The rows of the stocks the universe follows (KRX lists every stock of the market)."""
    with database.connection() as conn:
        symbols = listed_symbols(conn, start)
    if not symbols:
        raise deterministic_failure("stock_master is empty: materialize stock_universe first")
    return frame[frame["symbol"].isin(symbols)].reset_index(drop=True) if not frame.empty else frame


def fetch_investor_flows(
    krx: KRXResource, database: DatabaseResource, start: date, end: date
) -> tuple[pd.DataFrame, KRXClient]:
    """Every followed stock's flows per group for the window, validated (also the fast path's input)."""
    with krx.client(database.resolved_url) as client:
        days = trading_days(start, end)
        frame = fetch_days(client.investor_flows, "krx_investor_flows", INVESTOR_BLD, days)
    frame = followed(database, frame, start)
    if frame.empty:
        raise deterministic_failure(f"KRX {INVESTOR_BLD} → krx_investor_flows: no rows for {start}..{end}")
    check_frame(frame, schemas.krx_investor_flows(start, end), "krx_investor_flows", INVESTOR_BLD)
    return frame, client
