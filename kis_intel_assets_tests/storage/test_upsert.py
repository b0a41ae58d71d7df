"""The bulk upsert every asset writes through: idempotent, last write wins, all or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import psycopg
import pytest

from kis_intel_assets.storage import KST, connect, fetch_frame, upsert_frame


def prices(rows: list[tuple[str, date, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "time", "close"])
    frame["open"] = frame["close"]
    frame["high"] = frame["close"] + 10
    frame["low"] = frame["close"] - 10
    frame["volume"] = 1_000
    frame["trading_value"] = frame["close"] * 1_000 * 3_000_000  # beyond 2^31
    return frame


def stored(conn: psycopg.Connection) -> pd.DataFrame:
    return fetch_frame(
        conn, "SELECT symbol, time, close, trading_value FROM daily_prices ORDER BY symbol, time"
    )


def test_same_rows_twice_leave_the_same_table(database_url: str) -> None:
    batch = prices([("005930", date(2025, 6, 2), 56_000), ("000660", date(2025, 6, 2), 201_000)])
    with connect(database_url) as conn:
        assert upsert_frame(conn, "daily_prices", batch) == 2
        first = stored(conn)
        assert upsert_frame(conn, "daily_prices", batch) == 2
        second = stored(conn)
    pd.testing.assert_frame_equal(first, second)
    assert len(second) == 2
    assert second["trading_value"].max() == 201_000 * 1_000 * 3_000_000


def test_conflicting_rows_are_updated_and_new_rows_added(database_url: str) -> None:
    with connect(database_url) as conn:
        upsert_frame(conn, "daily_prices", prices([("005930", date(2025, 6, 2), 56_000)]))
        upsert_frame(
            conn,
            "daily_prices",
            prices([("005930", date(2025, 6, 2), 57_500), ("005930", date(2025, 6, 3), 58_000)]),
        )
        table = stored(conn)
    assert table["close"].tolist() == [57_500, 58_000]


def test_a_bad_row_mid_batch_rolls_back_the_whole_transaction(database_url: str) -> None:
    good = prices([("005930", date(2025, 6, 2), 56_000)])
    batch = prices(
        [
            ("000660", date(2025, 6, 2), 201_000),
            ("035420", date(2025, 6, 2), -5),
            ("051910", date(2025, 6, 2), 1),
        ]
    )
    with connect(database_url) as conn:
        upsert_frame(conn, "daily_prices", good)
        conn.commit()
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            upsert_frame(conn, "daily_prices", prices([("005930", date(2025, 6, 2), 99_000)]))
            upsert_frame(conn, "daily_prices", batch)
        table = stored(conn)
    assert table.to_dict("records") == stored_records(good)


def stored_records(frame: pd.DataFrame) -> list[dict]:
    return frame[["symbol", "time", "close", "trading_value"]].to_dict("records")


def test_duplicate_keys_inside_one_batch_are_refused_before_writing(database_url: str) -> None:
    batch = prices([("005930", date(2025, 6, 2), 56_000), ("005930", date(2025, 6, 2), 57_000)])
    with connect(database_url) as conn, pytest.raises(ValueError, match="duplicate keys"):
        upsert_frame(conn, "daily_prices", batch)


def test_missing_values_become_null(database_url: str) -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["005930"],
            "time": [date(2025, 6, 2)],
            "short_volume": [10],
            "short_amount": [560_000],
            "short_ratio": [1.25],
            "short_value_ratio": [1.3],
            "total_volume": [800],
            "total_value": [44_800_000],
            "balance_volume": [pd.NA],
            "balance_amount": [None],
        }
    )
    with connect(database_url) as conn:
        upsert_frame(conn, "short_selling", frame)
        row = fetch_frame(conn, "SELECT short_ratio, balance_volume FROM short_selling")
    assert row.iloc[0]["short_ratio"] == pytest.approx(1.25)
    assert row.iloc[0]["balance_volume"] is None


def test_rfc_tables_take_and_give_trading_days_while_intraday_keeps_its_instants(database_url: str) -> None:
    """RFC-010's tables store a day as 00:00 KST and hand it back as a date; intraday bars are instants."""
    day, bar = date(2025, 6, 2), datetime(2025, 6, 2, 9, 1, tzinfo=KST)
    shorts = pd.DataFrame([{
        "time": day, "symbol": "005930", "short_volume": 10, "short_amount": 560_000, "short_ratio": 1.25,
        "short_value_ratio": 1.3, "total_volume": 800, "total_value": 43_000_000,
    }])  # fmt: skip
    program = pd.DataFrame([{
        "time": bar, "symbol": "005930", "price": 56_000, "volume": 800, "program_buy": 5,
        "program_sell": 2, "program_net": 3, "program_buy_value": 280_000, "program_sell_value": 112_000,
        "program_net_value": 168_000,
    }])  # fmt: skip
    with connect(database_url) as conn:
        upsert_frame(conn, "short_selling", shorts)
        upsert_frame(conn, "intraday_program_trading", program)
        conn.execute("SET TimeZone = 'UTC'")  # what another client sees
        instant = conn.execute("SELECT time FROM short_selling").fetchone()[0]
        assert instant == datetime(2025, 6, 1, 15, tzinfo=UTC)
        assert fetch_frame(conn, "SELECT time FROM short_selling")["time"].tolist() == [day]
        assert fetch_frame(conn, "SELECT time FROM intraday_program_trading")["time"].tolist() == [bar]
        with pytest.raises(TypeError, match="trading day"):  # an instant is not a trading day
            upsert_frame(conn, "short_selling", shorts.assign(time=[bar]))
