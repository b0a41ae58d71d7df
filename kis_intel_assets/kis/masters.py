"""KIS stock master files (kospi_code.mst.zip / kosdaq_code.mst.zip): the listed universe.

Each zip holds one cp949 text file; a line is a 9-char short-code field, a 12-char standard code, the
Korean name, then a fixed-width tail (228 chars KOSPI, 222 KOSDAQ) whose first two chars are the group
code ("ST" = common stock). Only code, name and group are read.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from kis_intel_assets.kis.errors import KISPayloadError

COMMON_STOCK = "ST"
# KIS's 3-digit 지수업종 code (CTPF1002R idx_bztp_mcls_cd, e.g. "013") repeats across markets; the 4-digit
# 업종 index code FHPUP02120000 takes puts the market in front (KOSPI 0xxx, KOSDAQ 1xxx) and is unique.
INDEX_CODE_PREFIX = {"KOSPI": "0", "KOSDAQ": "1"}


def sector_index_code(market: str, kis_code: str) -> str | None:
    """(market, 3-digit KIS 업종 code) -> the unique 4-digit 업종 index code; None unless 3 digits."""
    if len(kis_code) != 3 or not kis_code.isdigit() or market not in INDEX_CODE_PREFIX:
        return None
    return INDEX_CODE_PREFIX[market] + kis_code


@dataclass(frozen=True)
class MasterFile:
    market: str
    filename: str
    tail_length: int


MASTER_FILES = (
    MasterFile("KOSPI", "kospi_code.mst.zip", 228),
    MasterFile("KOSDAQ", "kosdaq_code.mst.zip", 222),
)


@dataclass(frozen=True)
class MasterEntry:
    symbol: str
    name: str
    group: str


def parse_master(content: bytes, master: MasterFile) -> list[MasterEntry]:
    """Every entry of one master zip; a malformed line is a KISPayloadError naming the file and line."""

    def fail(line_no: int, problem: str) -> KISPayloadError:
        return KISPayloadError(
            tr_id=f"master:{master.filename}", symbol=None, field=f"line {line_no}", problem=problem
        )

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.namelist()
            if len(members) != 1:
                raise fail(0, f"expected one file in the zip, found {len(members)}")
            text = archive.read(members[0]).decode("cp949")
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise fail(0, f"unreadable master file: {type(exc).__name__}") from None
    entries = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) < 21 + master.tail_length:
            raise fail(line_no, f"line shorter than its fixed-width layout ({len(line)} chars)")
        head, tail = line[: -master.tail_length], line[-master.tail_length :]
        symbol, name = head[:9].strip(), head[21:].strip()
        if len(symbol) != 6 or not symbol.isalnum() or not name:
            raise fail(line_no, f"bad short code or empty name: {head[:21]!r}")
        entries.append(MasterEntry(symbol, name, tail[:2]))
    return entries
