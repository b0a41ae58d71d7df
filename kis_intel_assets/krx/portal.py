"""Wire facts of the KRX data portal (data.krx.co.kr), shared by the client and the simulator.

Every path, bld code, parameter and field name here is sourced in docs/krx_portal.md (pykrx's
website/krx modules, its recorded test answers and its issue threads); this module only names them.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

DEFAULT_BASE_URL = "https://data.krx.co.kr"
JSON_PATH = "/comm/bldAttendant/getJsonData.cmd"
LOGIN_PAGE_PATH = "/contents/MDC/COMS/client/MDCCOMS001.cmd"
LOGIN_JSP_PATH = "/contents/MDC/COMS/client/view/login.jsp"
LOGIN_PATH = "/contents/MDC/COMS/client/MDCCOMS001D1.cmd"
REFERER_PATH = "/contents/MDC/MDI/outerLoader/index.cmd"
SESSION_COOKIE = "JSESSIONID"

LOGGED_OUT_BODY = "LOGOUT"
LOGIN_OK, LOGIN_DUPLICATE, LOGIN_PASSWORD_CHANGE = "CD001", "CD011", "CD010"
SKIP_DUPLICATE = "skipDup"
# The portal's block notice (quoted in docs/krx_portal.md); it comes with HTTP 403 or 200.
BLOCK_MARKERS = ("접속이 일시적으로 제한", "비정상 대량 조회")

INVESTOR_BLD = "dbms/MDC/STAT/standard/MDCSTAT02401"  # all stocks, one investor type
BALANCE_BLD = "dbms/MDC/STAT/srt/MDCSTAT30501"  # short balance, all stocks of one market
BALANCE_ONE_BLD = "dbms/MDC/STAT/srt/MDCSTAT30502"  # short balance, one stock over a period

INVESTOR_ROWS, BALANCE_ROWS = "output", "OutBlock_1"

# MDCSTAT02401 takes mktId; MDCSTAT30501 takes mktTpCd.
INVESTOR_MARKETS = MappingProxyType({"KOSPI": "STK", "KOSDAQ": "KSQ"})
BALANCE_MARKETS = MappingProxyType({"KOSPI": "1", "KOSDAQ": "2"})

# invstTpCd -> our investor group. 9000 (외국인) and 9001 (기타외국인) together are KIS's foreign group;
# 9001 alone is also reported as other_foreign, a group KIS does not split out.
INVESTOR_TYPES = MappingProxyType(
    {
        "1000": "securities",  # 금융투자
        "2000": "insurance",  # 보험
        "3000": "investment_trust",  # 투신
        "3100": "private_fund",  # 사모
        "4000": "bank",  # 은행
        "5000": "merchant_bank",  # 기타금융
        "6000": "pension_fund",  # 연기금 (등)
        "7050": "institution",  # 기관합계
        "7100": "other_corporation",  # 기타법인
        "8000": "retail",  # 개인
        "9000": "foreign",  # 외국인
        "9001": "other_foreign",  # 기타외국인
    }
)
FOREIGN_TYPES = ("9000", "9001")
KRX_ONLY_GROUPS = ("other_foreign",)

# MDCSTAT02401 row fields: ASK is selling, BID is buying; values are KRW, volumes shares.
SYMBOL_FIELD, NAME_FIELD = "ISU_SRT_CD", "ISU_NM"
SELL_VOLUME, BUY_VOLUME, NET_VOLUME = "ASK_TRDVOL", "BID_TRDVOL", "NETBID_TRDVOL"
SELL_VALUE, BUY_VALUE, NET_VALUE = "ASK_TRDVAL", "BID_TRDVAL", "NETBID_TRDVAL"
INVESTOR_FIELDS = (SELL_VOLUME, BUY_VOLUME, NET_VOLUME, SELL_VALUE, BUY_VALUE, NET_VALUE)

# MDCSTAT30501 / 30502 row fields (30501's ISU_CD holds the 6-character short code).
BALANCE_SYMBOL, BALANCE_NAME, BALANCE_DAY = "ISU_CD", "ISU_ABBRV", "RPT_DUTY_OCCR_DD"
BALANCE_QTY, BALANCE_AMOUNT, LISTED_SHARES, MARKET_CAP, BALANCE_RATIO = (
    "BAL_QTY",
    "BAL_AMT",
    "LIST_SHRS",
    "MKTCAP",
    "BAL_RTO",
)
CURRENT_DATETIME = "CURRENT_DATETIME"


def yyyymmdd(day: date) -> str:
    """A date as the portal's trdDd / strtDd / endDd parameter."""
    return day.strftime("%Y%m%d")
