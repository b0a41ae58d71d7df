"""Registry of the Kiwoom TRs the product uses: path, api-id, body keys, list key and field -> column map.

Every name here is sourced in docs/kiwoom_api.md (Kiwoom's published examples, Kiwoom-Securities/
Kiwoom-REST-API). Columns follow sql/001_core_tables.sql where the dataset exists for KIS, so rows from both
brokers compare directly. Prices carry a +/- prefix that gives the direction against the previous close, so
they are listed in `unsigned` and stored as absolute values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kis_intel_assets.investor_groups import INVESTOR_GROUPS
from kis_intel_assets.kis.endpoints import Field, Kind

TOKEN_PATH = "/oauth2/token"
TOKEN_API_ID = "au10001"  # paced on its own TR bucket like any other TR

# ka10059 investor field -> our investor group (docs/kiwoom_api.md "How the project maps them").
INVESTOR_FIELD_TO_GROUP: Mapping[str, str] = MappingProxyType(
    {
        "ind_invsr": "retail",
        "frgnr_invsr": "foreign",
        "orgn": "institution",
        "fnnc_invt": "securities",
        "insrnc": "insurance",
        "invtrt": "investment_trust",
        "bank": "bank",
        "penfnd_etc": "pension_fund",
        "samo_fund": "private_fund",
        "etc_fnnc": "merchant_bank",
        "etc_corp": "other_corporation",
    }
)
# Parsed (so a malformed value is caught) but not mapped to a group: no established KIS counterpart.
INVESTOR_UNMAPPED = ("natn", "natfor")
# investor_trends groups no ka10059 field gives: 기타단체 (other_organization), hence 기타 (other =
# 기타법인 + 기타단체). Their columns are NULL in Kiwoom rows, never zero, like KRX rows
# (defs/krx/fast_path.py).
INVESTOR_GROUPS_NOT_FROM_KIWOOM: tuple[str, ...] = tuple(
    g for g in INVESTOR_GROUPS if g not in INVESTOR_FIELD_TO_GROUP.values()
)


@dataclass(frozen=True)
class KiwoomEndpoint:
    api_id: str
    name: str
    path: str
    body: Mapping[str, str]  # every body key sent, with its default ("" = the caller fills it)
    rows_key: str
    fields: tuple[Field, ...] = field(repr=False)
    unsigned: frozenset[str] = frozenset()  # direction-prefixed prices: stored as absolute values
    amount_unit: str | None = None  # the DEFAULT_AMOUNT_UNITS key that turns its Money fields into KRW


def _text(source: str, column: str | None = None) -> Field:
    return Field(source, column or source, Kind.TEXT, required=True)


def _day(source: str = "dt") -> Field:
    return Field(source, "time", Kind.DATE, required=True)


def _int(source: str, column: str | None = None) -> Field:
    return Field(source, column or source, Kind.INT, required=True)


@dataclass(frozen=True)
class Money(Field):
    """An amount in the dataset's wire unit; the session multiplies it by the configured unit to get KRW."""


def _money(source: str, column: str | None = None) -> Money:
    return Money(source, column or source, Kind.INT, required=True)


_INVESTOR_VALUES = tuple(_money(name) for name in (*INVESTOR_FIELD_TO_GROUP, *INVESTOR_UNMAPPED))

ENDPOINTS: Mapping[str, KiwoomEndpoint] = MappingProxyType(
    {
        e.api_id: e
        for e in (
            KiwoomEndpoint(
                "ka10059",
                "종목별투자자기관별요청",
                "/api/dostk/stkinfo",
                {"dt": "", "stk_cd": "", "amt_qty_tp": "", "trde_tp": "", "unit_tp": "1"},
                "stk_invsr_orgn",
                (_day(), _int("cur_prc", "close"), _int("acc_trde_qty", "volume"), *_INVESTOR_VALUES),
                unsigned=frozenset({"close"}),
                amount_unit="investor",
            ),
            KiwoomEndpoint(
                "ka10014",
                "공매도추이요청",
                "/api/dostk/shsa",
                {"stk_cd": "", "tm_tp": "1", "strt_dt": "", "end_dt": ""},
                "shrts_trnsn",
                (
                    _day(),
                    _int("close_pric", "close"),
                    _int("trde_qty", "total_volume"),
                    _int("shrts_qty", "short_volume"),
                    _money("shrts_trde_prica", "short_amount"),
                    _int("shrts_avg_pric", "short_avg_price"),
                ),
                unsigned=frozenset({"close"}),
                amount_unit="short",
            ),
            KiwoomEndpoint(
                "ka90013",
                "종목일별프로그램매매추이요청",
                "/api/dostk/mrkcond",
                {"stk_cd": "", "amt_qty_tp": "", "date": ""},
                "stk_daly_prm_trde_trnsn",
                (
                    _day(),
                    _int("cur_prc", "close"),
                    _money("prm_buy_amt"),
                    _money("prm_sell_amt"),
                    _money("prm_netprps_amt"),
                    _int("prm_buy_qty"),
                    _int("prm_sell_qty"),
                    _int("prm_netprps_qty"),
                ),
                unsigned=frozenset({"close"}),
                amount_unit="program",
            ),
            KiwoomEndpoint(
                "ka90004",
                "종목별프로그램매매현황요청",
                "/api/dostk/stkinfo",
                {"dt": "", "mrkt_tp": "", "stex_tp": "1"},
                "stk_prm_trde_prst",
                (
                    _text("stk_cd", "symbol"),
                    _int("cur_prc", "close"),
                    _int("buy_cntr_qty", "program_buy"),
                    _money("buy_cntr_amt", "program_buy_value"),
                    _int("sel_cntr_qty", "program_sell"),
                    _money("sel_cntr_amt", "program_sell_value"),
                    _money("netprps_prica", "program_net_value"),
                ),
                unsigned=frozenset({"close"}),
                amount_unit="program",
            ),
            KiwoomEndpoint(
                "ka90012",
                "대차거래내역요청",
                "/api/dostk/slb",
                {"dt": "", "mrkt_tp": ""},
                "dbrt_trde_prps",
                (
                    _text("stk_cd", "symbol"),
                    _int("dbrt_trde_cntrcnt", "new_volume"),
                    _int("dbrt_trde_rpy", "redeemed_volume"),
                    _int("rmnd", "balance_volume"),
                    _money("remn_amt", "balance_amount"),
                ),
                amount_unit="lending",
            ),
        )
    }
)


def endpoint(api_id: str) -> KiwoomEndpoint:
    try:
        return ENDPOINTS[api_id]
    except KeyError:
        raise KeyError(f"unknown Kiwoom TR {api_id!r}; registered: {sorted(ENDPOINTS)}") from None
