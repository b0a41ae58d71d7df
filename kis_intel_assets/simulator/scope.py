"""FID_COND_MRKT_DIV_CODE NX (Nextrade) and UN (KRX + Nextrade) answers, derived from the J (KRX) ones.

Since 2025-03 many quotation TRs take J, NX or UN (docs/kis_protocol.md §11). A third party measured UN
programme volume about 1.8x J and the sign of foreign net buying flipped. The simulator models that: programme
quantities and values are scaled (UN 1.8x, NX 0.8x), other volumes and values get NXT's share (UN 1.15x, NX
0.15x), and foreign buying and selling swap sides, which flips foreign net buying while keeping buy - sell =
net. Prices, rates and dates stay as on KRX. J is the product's scope; these answers exist so a client that
drifts off J gets visibly different numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

PROGRAM_PREFIXES = ("whol_", "arbt_", "nabt_", "pgtr_")
AMOUNT_SUFFIXES = ("_vol", "_qty", "_pbmn")
SCALES: Mapping[str, tuple[float, float]] = {"NX": (0.8, 0.15), "UN": (1.8, 1.15)}  # (programme, other)
FOREIGN_SWAP = {"frgn_shnu_vol": "frgn_seln_vol", "frgn_shnu_tr_pbmn": "frgn_seln_tr_pbmn"}


def rescope(body: dict[str, object], division: str) -> None:
    """Rewrite a J answer in place into the NX or UN answer; J (and U/V index codes) are left alone."""
    if division not in SCALES:
        return
    for key, value in body.items():
        if key.startswith("output"):
            for row in value if isinstance(value, list) else [value]:
                if isinstance(row, dict):
                    _rescope_row(row, SCALES[division])


def _rescope_row(row: dict[str, str], scales: tuple[float, float]) -> None:
    program, other = scales
    for buy, sell in FOREIGN_SWAP.items():
        if buy in row and sell in row:
            row[buy], row[sell] = row[sell], row[buy]
    for name, text in row.items():
        if not name.endswith(AMOUNT_SUFFIXES) or not _is_int(text):
            continue
        value = int(text)
        if name.startswith("frgn_") and "ntby" in name:
            value = -value
        factor = program if name.startswith(PROGRAM_PREFIXES) else other
        row[name] = str(round(value * factor))


def _is_int(text: object) -> bool:
    return isinstance(text, str) and text.lstrip("-").isdigit()
