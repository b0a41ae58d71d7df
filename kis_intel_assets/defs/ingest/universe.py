"""Point-in-time stock master: which stocks exist, and which sector each belonged to on any day."""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg

from kis_intel_assets.storage import fetch_frame

TRACKED = ["name", "market", "sector_code", "sector_name", "listed_shares"]
# Carried on the row but not a change of its own: the KIS code is part of sector_code (market + code).
CARRIED = ["sector_kis_code"]
MASTER_COLUMNS = ["symbol", "valid_from", *TRACKED, *CARRIED, "last_seen"]


def latest_master_rows(conn: psycopg.Connection) -> pd.DataFrame:
    """Each symbol's newest stock_master row."""
    return fetch_frame(
        conn,
        f"""SELECT DISTINCT ON (symbol) {", ".join(MASTER_COLUMNS)}
              FROM stock_master ORDER BY symbol, valid_from DESC""",
    )


def master_updates(
    latest: pd.DataFrame, observed: pd.DataFrame, as_of: date, history_start: date
) -> pd.DataFrame:
    """Rows to upsert after observing today's universe.

    A stock whose tracked attributes are unchanged only has its newest row's last_seen moved to `as_of`;
    one whose name, market, sector or share count changed opens a row valid from `as_of`, which keeps the
    earlier classification for the days before. KIS only tells today's classification, so a stock seen for
    the first time is valid from `history_start`: backfilled days use the first classification observed
    (the best available; a later change is then recorded point in time).
    """
    observed = observed[["symbol", *TRACKED, *CARRIED]].copy()
    merged = observed.merge(latest.drop(columns=CARRIED), on="symbol", how="left", suffixes=("", "_known"))
    known = merged["valid_from"].notna()
    unchanged = known.copy()
    for column in TRACKED:
        unchanged &= merged[column] == merged[f"{column}_known"]
    merged["valid_from"] = merged["valid_from"].where(unchanged, as_of).where(known, history_start)
    merged["last_seen"] = as_of
    return merged[MASTER_COLUMNS].reset_index(drop=True)


def listed_symbols(conn: psycopg.Connection, since: date | None = None) -> list[str]:
    """Stocks to fetch: those of the newest universe refresh, plus, for a window starting `since`, those
    a refresh saw on or after that day (a stock delisted since keeps its history up to its last day)."""
    rows = conn.execute(
        """SELECT DISTINCT symbol FROM stock_master
            WHERE last_seen >= least(%s, (SELECT max(last_seen) FROM stock_master)) ORDER BY symbol""",
        (since,),
    ).fetchall()
    return [row[0] for row in rows]
