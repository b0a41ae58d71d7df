"""KIS stock master files (kospi_code.mst.zip / kosdaq_code.mst.zip) for the simulated universe.

Each cp949 line: 9-char short code field (code left-aligned, space padded), 12-char standard code, Korean
name, then a fixed-width tail that ends the line (227 chars KOSPI, 221 KOSDAQ: the official parser's field
widths). Simulator tail layout: group code (2: ST stock, EF ETF, EN ETN), market-cap size (1), 지수업종
대/중/소분류 (4 chars each: KIS's 3-digit code, zero-padded, so the same in both markets' files), the
공매도과열종목여부 flag Y/N at its official offset (KOSPI 159, KOSDAQ 154; simulator/overheat.py decides it
for the files' trading day, model.master_day), and '0' filler elsewhere. The padding of a 3-digit code is a
simulator choice. A few ETF/ETN lines are included so clients must filter on the group code.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from kis_intel_assets.markets import common_stock_isin
from kis_intel_assets.simulator.model import NON_STOCK_MASTER_LINES, MarketModel
from kis_intel_assets.simulator.overheat import official_designations
from kis_intel_assets.simulator.sectors import SECTORS, SIZE_CLASS

TAIL_WIDTH = {"KOSPI": 227, "KOSDAQ": 221}
SHORT_OVERHEAT_OFFSET = {"KOSPI": 159, "KOSDAQ": 154}
MASTER_FILES = {"kospi_code.mst.zip": "KOSPI", "kosdaq_code.mst.zip": "KOSDAQ"}


def _line(
    code: str, name: str, market: str, group: str, size: str, large: str, middle: str, overheat: bool
) -> str:
    tail = list(f"{group}{size}{large}{middle}0000".ljust(TAIL_WIDTH[market], "0"))
    tail[SHORT_OVERHEAT_OFFSET[market]] = "Y" if overheat else "N"
    return f"{code:<9}{common_stock_isin(code)}{name}" + "".join(tail)


def master_zip(model: MarketModel, market: str) -> bytes:
    u = model.universe
    latest = model.latest_day()
    designated = set(official_designations(model, model.master_day().astype(date)))
    lines = []
    for i, symbol in enumerate(u.symbols):
        if u.markets[i] != market or not model.is_listed(str(symbol), latest):
            continue
        sector = SECTORS[model.sector_at(str(symbol), latest)]
        size = "1" if u.index_member[i] else "3"
        large = SIZE_CLASS[bool(u.index_member[i])][0]
        lines.append(
            _line(
                str(symbol),
                u.names[i],
                market,
                "ST",
                size,
                f"{large:0>4}",
                f"{sector.kis_code:0>4}",
                str(symbol) in designated,
            )
        )
    for code, name, group, line_market in NON_STOCK_MASTER_LINES:
        if line_market == market:
            lines.append(_line(code, name, market, group, "0", "0000", "0000", False))
    buffer = io.BytesIO()
    inner = "kospi_code.mst" if market == "KOSPI" else "kosdaq_code.mst"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner, ("\n".join(lines) + "\n").encode("cp949"))
    return buffer.getvalue()
