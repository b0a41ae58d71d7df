"""The portal's formatted strings are read strictly: every malformed answer is a KRXPayloadError naming the
bld, the field and (once known) the symbol, never a zero or a None where a value is required."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kis_intel_assets.krx.errors import KRXPayloadError
from kis_intel_assets.krx.parsing import RowReader, rows_of

BLD = "dbms/MDC/STAT/standard/MDCSTAT30001"
ROW = {"ISU_SRT_CD": "005930", "BAL_QTY": "1,234,567", "NET": "-225,147", "RATIO": "0.07", "NONE": "-"}


def test_well_formed_fields_are_read_as_numbers_and_the_code_names_later_errors() -> None:
    reader = RowReader(ROW, BLD)
    assert reader.symbol_code("ISU_SRT_CD") == "005930"
    assert reader.integer("BAL_QTY") == 1_234_567
    assert reader.integer("NET") == -225_147
    assert reader.decimal("RATIO") == pytest.approx(0.07)
    assert reader.decimal("BAL_QTY") == 1_234_567.0
    assert reader.decimal("NONE", optional=True) is None
    with pytest.raises(KRXPayloadError, match=r"\[symbol=005930\]"):
        reader.integer("RATIO")


@pytest.mark.parametrize(
    ("row", "read", "problem"),
    [
        ({}, lambda r: r.text("BAL_QTY"), "missing"),
        ({"BAL_QTY": 12}, lambda r: r.integer("BAL_QTY"), "expected a string, got int"),
        ({"BAL_QTY": "12.5"}, lambda r: r.integer("BAL_QTY"), "not an integer: '12.5'"),
        ({"BAL_QTY": "1,23"}, lambda r: r.integer("BAL_QTY"), "not an integer: '1,23'"),
        ({"BAL_QTY": ""}, lambda r: r.integer("BAL_QTY"), "not an integer: ''"),
        ({"RATIO": "-"}, lambda r: r.decimal("RATIO"), "not a number: '-'"),
        ({"RATIO": "0.0.7"}, lambda r: r.decimal("RATIO"), "not a number: '0.0.7'"),
        ({"ISU_SRT_CD": "5930"}, lambda r: r.symbol_code("ISU_SRT_CD"), "not a 6-character stock code"),
        ({"ISU_SRT_CD": "a05930"}, lambda r: r.symbol_code("ISU_SRT_CD"), "not a 6-character stock code"),
    ],
)
def test_a_malformed_field_is_a_payload_error_naming_bld_and_field(
    row: dict[str, object], read: Callable[[RowReader], object], problem: str
) -> None:
    with pytest.raises(KRXPayloadError) as raised:
        read(RowReader(row, BLD))
    assert raised.value.bld == BLD and problem in raised.value.problem
    assert raised.value.symbol is None and str(raised.value).endswith("[symbol=-]")


def test_a_row_that_is_not_an_object_is_a_payload_error() -> None:
    with pytest.raises(KRXPayloadError, match=r"bad field 'row' \(not an object: list\) \[symbol=005930\]"):
        RowReader(["005930"], BLD, symbol="005930")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "answer is not an object: list"),
        ({"output": None}, "missing"),
        ({}, "missing"),
        ({"output": {"ISU_SRT_CD": "005930"}}, "not a list"),
    ],
)
def test_an_envelope_without_a_row_list_is_a_payload_error(body: object, problem: str) -> None:
    with pytest.raises(KRXPayloadError) as raised:
        rows_of(body, "output", BLD)
    assert raised.value.field == "output" and raised.value.problem == problem


def test_the_row_list_is_returned_as_given() -> None:
    assert rows_of({"OutBlock_1": [ROW]}, "OutBlock_1", BLD) == [ROW]
