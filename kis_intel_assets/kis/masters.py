"""KIS stock master files (kospi_code.mst.zip / kosdaq_code.mst.zip): the listed universe.

Each zip holds one cp949 text file; a line is a 9-char short-code field, a 12-char standard code, the
Korean name, then a fixed-width tail that ends the line (227 chars KOSPI, 221 KOSDAQ) whose first two chars
are the group code ("ST" = common stock). Read: code, name, group and the 공매도과열종목여부 flag
(`ssts_hot_yn`, Y/N), whose offset in the tail is in docs/short_overheat_designations.md with its source.

A master file is a snapshot: KIS regenerates it every trading day before the open, so it tells the state of
that one day (master_file_day) and nothing about earlier days.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from kis_intel_assets.kis.errors import KISPayloadError
from kis_intel_assets.krx_calendar import is_trading_day, previous_trading_day

COMMON_STOCK = "ST"
# KIS's 3-digit 지수업종 code (CTPF1002R idx_bztp_mcls_cd, e.g. "013") repeats across markets; the 4-digit
# 업종 index code FHPUP02120000 takes puts the market in front (KOSPI 0xxx, KOSDAQ 1xxx) and is unique.
INDEX_CODE_PREFIX = {"KOSPI": "0", "KOSDAQ": "1"}


def sector_index_code(market: str, kis_code: str) -> str | None:
    """(market, 3-digit KIS 업종 code) -> the unique 4-digit 업종 index code; None unless 3 digits."""
    if len(kis_code) != 3 or not kis_code.isdigit() or market not in INDEX_CODE_PREFIX:
        return None
    return INDEX_CODE_PREFIX[market] + kis_code


# When the day's files are in place (KST). KIS says only "daily, before the open"; 08:00 is our assumption
# (the pre-open session starts 08:30), shared with the simulator.
MASTER_READY = time(8, 0)
SHORT_OVERHEAT_FIELD = "ssts_hot_yn"
SHORT_OVERHEAT_VALUES = {"Y": True, "N": False}


@dataclass(frozen=True)
class MasterFile:
    market: str
    filename: str
    tail_length: int
    short_overheat_offset: int  # 0-based position of ssts_hot_yn in the tail


MASTER_FILES = (
    MasterFile("KOSPI", "kospi_code.mst.zip", 227, 159),
    MasterFile("KOSDAQ", "kosdaq_code.mst.zip", 221, 154),
)


@dataclass(frozen=True)
class MasterEntry:
    symbol: str
    name: str
    group: str
    line: int
    short_overheat: str  # the raw one-char ssts_hot_yn flag; short_overheat_symbols checks it


def master_file_day(moment: datetime) -> date:
    """The KRX trading day a master file downloaded at `moment` (KST) describes: today's from
    MASTER_READY on a trading day, else the latest trading day before (a weekend serves Friday's file)."""
    day = moment.date() if moment.time() >= MASTER_READY else moment.date() - timedelta(days=1)
    return day if is_trading_day(day) else previous_trading_day(day)


def _failure(master: MasterFile, line_no: int, problem: str, field: str | None = None) -> KISPayloadError:
    where = f"line {line_no}" + (f" field {field}" if field else "")
    return KISPayloadError(tr_id=f"master:{master.filename}", symbol=None, field=where, problem=problem)


def parse_master(content: bytes, master: MasterFile) -> list[MasterEntry]:
    """Every entry of one master zip; a malformed line is a KISPayloadError naming the file and line."""

    def fail(line_no: int, problem: str) -> KISPayloadError:
        return _failure(master, line_no, problem)

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
        flag = tail[master.short_overheat_offset]
        entries.append(MasterEntry(symbol, name, tail[:2], line_no, flag))
    return entries


def short_overheat_symbols(entries: list[MasterEntry], master: MasterFile) -> list[str]:
    """Common stocks whose 공매도과열종목 flag is Y; a flag other than Y/N on a common stock's line is a
    KISPayloadError naming the file, line and field (other securities are not read)."""
    designated = []
    for entry in entries:
        if entry.group != COMMON_STOCK:
            continue
        if entry.short_overheat not in SHORT_OVERHEAT_VALUES:
            raise _failure(
                master, entry.line, f"{entry.short_overheat!r} is not Y or N", SHORT_OVERHEAT_FIELD
            )
        if SHORT_OVERHEAT_VALUES[entry.short_overheat]:
            designated.append(entry.symbol)
    return designated
