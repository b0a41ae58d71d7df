"""The endpoint registry matches the DB contract, and parsing never turns bad input into a value."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from kis_intel_assets.kis.endpoints import ENDPOINTS, KRW_MILLION, Field, Kind, Paging
from kis_intel_assets.kis.errors import KISPayloadError
from kis_intel_assets.kis.masters import MASTER_FILES, parse_master
from kis_intel_assets.kis.parsing import extract_rows, parse_row, parse_rows, parse_value
from kis_intel_assets.storage.table_columns import table_columns as migrated_table_columns

PRODUCT_TR_IDS = {
    "FHKST01010900",
    "FHPTJ04160001",
    "FHPTJ04400000",
    "FHPTJ04040000",
    "FHPST04830000",
    "FHPPG04650101",
    "FHPPG04650201",
    "FHPPG04600001",
    "FHKST01010100",
    "FHKST03010100",
    "CTPF1002R",
    "FHPUP02120000",
    "FHKUP03500100",
    "CTCA0903R",  # sector index history (rotation benchmark) and KIS's holiday check
    "HHPST074500C0",  # stock lending (대차거래추이)
}


def table_columns(table: str) -> set[str]:
    return {c.name for c in migrated_table_columns(table)}


def test_registry_covers_every_product_endpoint_with_unique_fields() -> None:
    assert set(ENDPOINTS) == PRODUCT_TR_IDS
    for spec in ENDPOINTS.values():
        assert spec.url_path.startswith("/uapi/domestic-stock/v1/quotations/")
        assert spec.rows_key in ("output", "output1", "output2")
        sources = [f.source for f in spec.fields]
        columns = [f.column for f in spec.fields]
        assert len(set(sources)) == len(sources), spec.tr_id
        assert len(set(columns)) == len(columns), spec.tr_id
    assert ENDPOINTS["FHKST03010100"].paging is Paging.NONE
    assert ENDPOINTS["FHKST03010100"].cursor == ("FID_INPUT_DATE_2",)
    assert {t for t, e in ENDPOINTS.items() if e.paper} == {
        "FHKST01010900",
        "FHKST01010100",
        "FHKST03010100",
        "FHKUP03500100",
    }


@pytest.mark.parametrize(
    ("tr_id", "table", "keys"),
    [
        ("FHKST03010100", "daily_prices", {"symbol"}),
        ("FHPTJ04160001", "investor_trends", {"symbol", "source"}),
        (
            "FHPST04830000",
            "short_selling",
            {"symbol", "balance_volume", "balance_amount", "balance_ratio", "source"},
        ),
        (
            "FHPPG04650201",
            "program_trading",
            {
                "symbol",
                "source",
                "arbitrage_buy",
                "arbitrage_sell",
                "non_arbitrage_buy",
                "non_arbitrage_sell",
            },
        ),
    ],
)
def test_table_endpoints_map_onto_exactly_the_table_columns(tr_id: str, table: str, keys: set[str]) -> None:
    columns = {f.column for f in ENDPOINTS[tr_id].fields if not f.check_only}
    assert columns | keys == table_columns(table)


def test_investor_field_quirks_and_units() -> None:
    fields = {f.source: f for f in ENDPOINTS["FHPTJ04160001"].fields}
    for who in ("pe_fund", "etc_corp", "etc_orgt"):
        assert f"{who}_ntby_vol" in fields and f"{who}_ntby_qty" not in fields
    assert fields["frgn_ntby_qty"].column == "foreign_net"
    assert fields["scrt_seln_tr_pbmn"].column == "securities_sell_value"
    assert fields["mrbn_shnu_vol"].column == "merchant_bank_buy"
    assert fields["prsn_ntby_tr_pbmn"].scale == KRW_MILLION
    assert fields["prsn_ntby_qty"].scale == 1
    program = {f.source: f for f in ENDPOINTS["FHPPG04650201"].fields}
    assert program["whol_smtn_ntby_tr_pbmn"].scale == 1  # programme values are KRW as given


SPEC = ENDPOINTS["FHPST04830000"]


def raw_short_row(**overrides: str) -> dict[str, str]:
    row = {
        "stck_bsop_date": "20250102",
        "ssts_cntg_qty": "1200",
        "ssts_tr_pbmn": "84000000",
        "ssts_vol_rlim": "3.25",
        "ssts_tr_pbmn_rlim": "3.10",
        "acml_vol": "36923",
        "acml_tr_pbmn": "2709000000",
        "stck_hgpr": "74000",
        "stck_lwpr": "72100",
    }
    return {**row, **overrides}


def test_parse_row_types_and_signs() -> None:
    row = parse_row(raw_short_row(), SPEC, symbol="005930")
    assert row == {
        "time": dt.date(2025, 1, 2),
        "short_volume": 1200,
        "short_amount": 84_000_000,
        "short_ratio": 3.25,
        "short_value_ratio": 3.1,
        "total_volume": 36923,
        "total_value": 2_709_000_000,
        "day_high": 74000,
        "day_low": 72100,
    }
    net = Field("frgn_ntby_tr_pbmn", "foreign_net_value", scale=KRW_MILLION)
    assert parse_value("-1520", net, tr_id="T", symbol="X") == -1_520_000_000
    assert parse_value("+7", net, tr_id="T", symbol="X") == 7_000_000
    assert parse_value("", net, tr_id="T", symbol="X") is None
    hour = Field("bsop_hour", "hour", Kind.TIME)
    assert parse_value("093000", hour, tr_id="T", symbol="X") == dt.time(9, 30)


@pytest.mark.parametrize(
    ("override", "field", "problem"),
    [
        ({"ssts_cntg_qty": "12a3"}, "ssts_cntg_qty", "not an integer"),
        ({"ssts_vol_rlim": "3.2.5"}, "ssts_vol_rlim", "not a number"),
        ({"acml_vol": ""}, "acml_vol", "empty but required"),
        ({"stck_bsop_date": "20251341"}, "stck_bsop_date", "not a valid date"),
        ({"acml_tr_pbmn": 5}, "acml_tr_pbmn", "expected a string"),
    ],
)
def test_bad_values_raise_naming_tr_id_symbol_and_field(override: dict, field: str, problem: str) -> None:
    with pytest.raises(KISPayloadError) as info:
        parse_row(raw_short_row(**override), SPEC, symbol="005930")
    assert (info.value.tr_id, info.value.symbol, info.value.field) == ("FHPST04830000", "005930", field)
    assert problem in str(info.value) and "FHPST04830000" in str(info.value) and "005930" in str(info.value)


def test_missing_field_and_bad_envelope_are_errors() -> None:
    row = raw_short_row()
    del row["ssts_tr_pbmn"]
    with pytest.raises(KISPayloadError, match=r"ssts_tr_pbmn.*missing"):
        parse_rows([row], SPEC, symbol="000660")
    with pytest.raises(KISPayloadError, match="output2"):
        extract_rows({"rt_cd": "0", "output1": {}}, SPEC, symbol="000660")
    with pytest.raises(KISPayloadError, match="expected a list"):
        extract_rows({"rt_cd": "0", "output2": {}}, SPEC, symbol="000660")


def test_fully_blank_row_is_unpublished_not_zero() -> None:
    blank = {**dict.fromkeys(raw_short_row(), ""), "stck_bsop_date": "20250103"}
    assert parse_rows([blank, raw_short_row()], SPEC, symbol="005930")[0]["short_volume"] == 1200
    assert len(parse_rows([blank], SPEC, symbol="005930")) == 0


def master_zip(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kospi_code.mst", "\n".join(lines).encode("cp949"))
    return buffer.getvalue()


def test_master_file_parsing() -> None:
    kospi = MASTER_FILES[0]
    lines = [
        f"{'005930':<9}KR7005930003삼성전자" + "ST" + "0" * 225,
        f"{'069500':<9}KR7069500007KODEX 200" + "EF" + "0" * 225,
    ]
    entries = parse_master(master_zip(lines), kospi)
    assert [(e.symbol, e.name, e.group) for e in entries] == [
        ("005930", "삼성전자", "ST"),
        ("069500", "KODEX 200", "EF"),
    ]
    with pytest.raises(KISPayloadError, match="line 1"):
        parse_master(master_zip(["005930   KR7005930003삼성전자ST"]), kospi)


def test_a_date_window_parses_only_its_rows_strictly() -> None:
    endpoint = ENDPOINTS["FHPST04830000"]
    inside = raw_short_row(stck_bsop_date="20250602")
    outside_and_corrupt = raw_short_row(stck_bsop_date="20250530", ssts_cntg_qty="12a3")
    window = (dt.date(2025, 6, 2), dt.date(2025, 6, 2))

    rows = parse_rows([inside, outside_and_corrupt], endpoint, symbol="005930", window=window)

    assert rows[1] == {"time": dt.date(2025, 5, 30)}  # only its date, for paging
    assert rows[0]["time"] == dt.date(2025, 6, 2) and len(rows[0]) > 1
    with pytest.raises(KISPayloadError, match="ssts_cntg_qty"):
        parse_rows(
            [raw_short_row(stck_bsop_date="20250602", ssts_cntg_qty="12a3")],
            endpoint,
            symbol="005930",
            window=window,
        )
    with pytest.raises(KISPayloadError, match="stck_bsop_date"):
        parse_rows([raw_short_row(stck_bsop_date="2025-06")], endpoint, symbol="005930", window=window)
