"""KRX 업종 sectors with realistic membership weights, in KIS's two code schemes.

- `code`: the 4-digit 업종 *index* code FHPUP02120000 takes (KOSPI 00xx, KOSDAQ 1xxx), unique across
  markets. KOSPI codes follow the KIS idxcode master; 0028 부동산 is a simulator choice (the reference
  lists no KIS code for it). KOSDAQ codes map the pykrx 2xxx numbers to KIS-style 1xxx.
- `kis_code`: the 3-digit 지수업종 code of CTPF1002R `idx_bztp_mcls_cd` and the master files (KIS's documented
  example: SK hynix "013" 전기,전자) = the index code without its market digit, so KOSPI "012" 기계,장비 and
  KOSDAQ "012" 일반서비스 share it.

Names are the post-2024-12-09 ones (docs/krx_rules.md §4) written as KIS writes them in CTPF1002R, with a
comma where KRX writes "·" ("전기,전자" in KIS's example; the other names are inferred from it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sector:
    code: str
    name: str
    market: str
    weight: float

    @property
    def kis_code(self) -> str:
        return self.code[1:]


_KOSPI = [
    ("0005", "음식료·담배", 40),
    ("0006", "섬유·의류", 28),
    ("0007", "종이·목재", 20),
    ("0008", "화학", 95),
    ("0009", "제약", 50),
    ("0010", "비금속", 20),
    ("0011", "금속", 50),
    ("0012", "기계·장비", 70),
    ("0013", "전기·전자", 110),
    ("0014", "의료·정밀기기", 15),
    ("0015", "운송장비·부품", 70),
    ("0016", "유통", 80),
    ("0017", "전기·가스", 15),
    ("0018", "건설", 30),
    ("0019", "운송·창고", 30),
    ("0020", "통신", 10),
    ("0021", "금융", 70),
    ("0024", "증권", 25),
    ("0025", "보험", 12),
    ("0026", "일반서비스", 35),
    ("0028", "부동산", 20),
    ("0029", "IT 서비스", 35),
    ("0030", "오락·문화", 20),
]
_KOSDAQ = [
    ("1012", "일반서비스", 60),
    ("1026", "건설", 30),
    ("1027", "유통", 60),
    ("1029", "운송·창고", 15),
    ("1031", "금융", 40),
    ("1037", "오락·문화", 80),
    ("1056", "음식료·담배", 35),
    ("1058", "섬유·의류", 20),
    ("1062", "종이·목재", 10),
    ("1063", "출판·매체복제", 15),
    ("1065", "화학", 90),
    ("1066", "제약", 120),
    ("1067", "비금속", 20),
    ("1068", "금속", 50),
    ("1070", "기계·장비", 150),
    ("1072", "전기전자", 300),
    ("1074", "의료·정밀기기", 90),
    ("1075", "운송장비·부품", 70),
    ("1077", "기타제조", 25),
    ("1114", "통신", 25),
    ("1118", "IT 서비스", 180),
]

SECTORS: tuple[Sector, ...] = tuple(
    [Sector(code, name.replace("·", ","), "KOSPI", float(w)) for code, name, w in _KOSPI]
    + [Sector(code, name.replace("·", ","), "KOSDAQ", float(w)) for code, name, w in _KOSDAQ]
)
SECTOR_INDEX: dict[str, int] = {s.code: i for i, s in enumerate(SECTORS)}

# Market-wide index codes served by FHPUP02120000 besides the sector codes.
MARKET_INDICES: dict[str, tuple[str, str]] = {
    "0001": ("KOSPI", "종합"),
    "1001": ("KOSDAQ", "KOSDAQ"),
    "2001": ("KOSPI", "KOSPI200"),
}
# 대분류 reported next to the sector in CTPF1002R and the master tail: the size class, as in KIS's example
# (SK hynix idx_bztp_lcls_cd "002" = 대형주); KOSPI200 / KOSDAQ150 members are large, the rest small.
SIZE_CLASS: dict[bool, tuple[str, str]] = {True: ("002", "대형주"), False: ("004", "소형주")}
MARKET_NAMES: dict[str, str] = {"KOSPI": "KOSPI", "KOSDAQ": "KOSDAQ"}


def sectors_of(market: str) -> list[int]:
    return [i for i, s in enumerate(SECTORS) if s.market == market]
