"""Registry of every KIS endpoint the product uses: one table-like place for TR IDs, paths,
parameters, output shape, paging style, paper availability and the field -> DB column map.

Field names are KIS's own (the official samples' column mappings; the simulator's documented.py holds
the same lists); column names follow sql/001_core_tables.sql where a table exists (other endpoints reuse
that vocabulary). Units: investor `*_tr_pbmn` values arrive in KRW million and are scaled to KRW here,
everything else is taken as given (README, "Interpretations worth knowing").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from kis_intel_assets.investor_groups import KIS_PREFIX_TO_GROUP

QUOTATIONS = "/uapi/domestic-stock/v1/quotations/"
KRW_MILLION = 1_000_000


class Kind(Enum):
    INT = "int"
    FLOAT = "float"  # percent rates and index levels, rounded to 2 decimals
    DATE = "date"  # YYYYMMDD -> datetime.date
    TIME = "time"  # HHMMSS -> datetime.time
    TEXT = "text"


class Paging(Enum):
    NONE = "none"  # one call per cursor position
    TR_CONT = "tr_cont"  # response header tr_cont F/M = more; re-send the same params with tr_cont N


@dataclass(frozen=True)
class Field:
    source: str
    column: str
    kind: Kind = Kind.INT
    required: bool = False  # "" is an error instead of NULL (the DB column is NOT NULL)
    scale: int = 1
    # When `source` is absent: the sum of these fields (an undocumented total KIS may stop sending)
    sum_of: tuple[str, ...] = ()
    # Read only to check the stored fields against (a base price, a day's range); never written.
    check_only: bool = False


@dataclass(frozen=True)
class Endpoint:
    tr_id: str
    name: str
    path: str
    params: Mapping[str, str]  # every query parameter sent, with its default ("" = caller fills or blank)
    rows_key: str  # "output" or "output2" (output1, when present, is a summary object; HHPST074500C0's rows)
    is_list: bool
    paging: Paging
    paper: bool
    fields: tuple[Field, ...] = field(repr=False)
    # Date parameter(s) moved to (oldest row - 1 day) when the server stops before the range's start:
    # the end date of DATE_1/DATE_2 ranges, or the anchor of TRs that answer ~30 sessions back from DATE_1.
    cursor: tuple[str, ...] = ()

    @property
    def url_path(self) -> str:
        return QUOTATIONS + self.path

    @property
    def check_only_columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields if f.check_only)


_NET_IN_VOL = frozenset({"pe_fund", "etc_corp", "etc_orgt"})  # these spell net volume _ntby_vol


def investor_fields(groups: tuple[str, ...], *, net_only: bool) -> tuple[Field, ...]:
    """Per-investor-group fields; amounts are KRW million on the wire, KRW in the output."""
    fields: list[Field] = []
    for who in groups:
        col = KIS_PREFIX_TO_GROUP[who]
        net_qty = f"{who}_ntby_vol" if who in _NET_IN_VOL else f"{who}_ntby_qty"
        fields += [
            Field(net_qty, f"{col}_net"),
            Field(f"{who}_ntby_tr_pbmn", f"{col}_net_value", scale=KRW_MILLION),
        ]
        if not net_only:
            fields += [
                Field(f"{who}_shnu_vol", f"{col}_buy"),
                Field(f"{who}_shnu_tr_pbmn", f"{col}_buy_value", scale=KRW_MILLION),
                Field(f"{who}_seln_vol", f"{col}_sell"),
                Field(f"{who}_seln_tr_pbmn", f"{col}_sell_value", scale=KRW_MILLION),
            ]
    return tuple(fields)


PROGRAM_SIDES = {
    "shnu_vol": "buy",
    "seln_vol": "sell",
    "ntby_qty": "net",
    "shnu_tr_pbmn": "buy_value",
    "seln_tr_pbmn": "sell_value",
    "ntby_tr_pbmn": "net_value",
}


def _trade_fields(prefix: str, column_prefix: str, parts: tuple[str, ...] = ()) -> tuple[Field, ...]:
    """Programme-trading blocks (`<prefix>_seln_vol` ...) that arrive in KRW as given; with `parts`, a
    field that is absent is their sum (FHPPG04600001's whol_smtn_ntby_* are documented nowhere)."""
    return tuple(
        Field(
            f"{prefix}_{side}",
            f"{column_prefix}{column}",
            required=True,
            sum_of=tuple(f"{part}_{side}" for part in parts),
        )
        for side, column in PROGRAM_SIDES.items()
    )


ALL_GROUPS = tuple(KIS_PREFIX_TO_GROUP)
DAY = Field("stck_bsop_date", "time", Kind.DATE, required=True)
PROVISIONAL_GROUPS = ("frgn", "orgn", "ivtr", "bank", "insu", "mrbn", "fund", "etc_orgt", "etc_corp")
INDEX_FIELDS = (
    Field("bstp_nmix_oprc", "open", Kind.FLOAT, required=True),
    Field("bstp_nmix_hgpr", "high", Kind.FLOAT, required=True),
    Field("bstp_nmix_lwpr", "low", Kind.FLOAT, required=True),
    Field("bstp_nmix_prpr", "close", Kind.FLOAT, required=True),
    Field("bstp_nmix_prdy_vrss", "change", Kind.FLOAT),
    Field("bstp_nmix_prdy_ctrt", "change_rate", Kind.FLOAT),
)
TRADE_TYPES = {"arbt": "arbitrage", "nabt": "non_arbitrage", "whol": "total"}


# What FHKST03010100 says about each day's base price (기준가): the signed change against it, and the marks of
# a day whose base price was reset (락 구분, 수정 여부, 재평가 사유), on which the ±30 % band does not hold.
BASE_PRICE_MARKS = (
    Field("prdy_vrss", "base_change", check_only=True),
    Field("flng_cls_code", "lock_code", Kind.TEXT, check_only=True),
    Field("mod_yn", "modified_yn", Kind.TEXT, check_only=True),
    Field("revl_issu_reas", "reevaluation_reason", Kind.TEXT, check_only=True),
)


def _stock_params(**extra: str) -> Mapping[str, str]:
    return MappingProxyType({"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "", **extra})


def _params(**params: str) -> Mapping[str, str]:
    return MappingProxyType(params)


_REGISTRY = (
    Endpoint(
        tr_id="FHKST01010900",
        name="주식현재가 투자자",
        path="inquire-investor",
        params=_stock_params(),
        rows_key="output",
        is_list=True,
        paging=Paging.NONE,
        paper=True,
        fields=(DAY, Field("stck_clpr", "close"), *investor_fields(("frgn", "prsn", "orgn"), net_only=False)),
    ),
    Endpoint(
        tr_id="FHPTJ04160001",
        name="종목별 투자자매매동향(일별)",
        path="investor-trade-by-stock-daily",
        params=_stock_params(FID_INPUT_DATE_1="", FID_ORG_ADJ_PRC="", FID_ETC_CLS_CODE=""),
        rows_key="output2",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_1",),
        fields=(DAY, *investor_fields(ALL_GROUPS, net_only=False)),
    ),
    Endpoint(
        tr_id="FHPTJ04400000",
        name="국내기관_외국인 매매종목가집계",
        path="foreign-institution-total",
        params=_params(
            FID_COND_MRKT_DIV_CODE="V",
            FID_COND_SCR_DIV_CODE="16449",
            FID_INPUT_ISCD="0000",
            FID_DIV_CLS_CODE="0",
            FID_RANK_SORT_CLS_CODE="0",
            FID_ETC_CLS_CODE="0",
        ),
        rows_key="output",
        is_list=True,
        paging=Paging.NONE,
        paper=False,
        fields=(
            Field("mksc_shrn_iscd", "symbol", Kind.TEXT, required=True),
            Field("hts_kor_isnm", "name", Kind.TEXT, required=True),
            Field("stck_prpr", "price", required=True),
            Field("prdy_ctrt", "change_rate", Kind.FLOAT),
            Field("acml_vol", "volume"),
            Field("ntby_qty", "net_qty"),
            *investor_fields(PROVISIONAL_GROUPS, net_only=True),
        ),
    ),
    Endpoint(
        tr_id="FHPTJ04040000",
        name="시장별 투자자매매동향(일별)",
        path="inquire-investor-daily-by-market",
        params=_params(
            FID_COND_MRKT_DIV_CODE="U",
            FID_INPUT_ISCD="",
            FID_INPUT_DATE_1="",
            FID_INPUT_ISCD_1="",
            FID_INPUT_DATE_2="",
            FID_INPUT_ISCD_2="",
        ),
        rows_key="output",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_1", "FID_INPUT_DATE_2"),
        fields=(DAY, *INDEX_FIELDS, *investor_fields(ALL_GROUPS, net_only=True)),
    ),
    Endpoint(
        tr_id="FHPST04830000",
        name="국내주식 공매도 일별추이",
        path="daily-short-sale",
        params=_stock_params(FID_INPUT_DATE_1="", FID_INPUT_DATE_2=""),
        rows_key="output2",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_2",),
        fields=(
            DAY,
            Field("ssts_cntg_qty", "short_volume", required=True),
            Field("ssts_tr_pbmn", "short_amount", required=True),
            Field("ssts_vol_rlim", "short_ratio", Kind.FLOAT, required=True),
            Field("ssts_tr_pbmn_rlim", "short_value_ratio", Kind.FLOAT, required=True),
            Field("acml_vol", "total_volume", required=True),
            Field("acml_tr_pbmn", "total_value", required=True),
            Field("stck_hgpr", "day_high", check_only=True),
            Field("stck_lwpr", "day_low", check_only=True),
        ),
    ),
    Endpoint(
        tr_id="FHPPG04650101",
        name="종목별 프로그램매매추이(체결)",
        path="program-trade-by-stock",
        params=_stock_params(),
        rows_key="output",
        is_list=True,
        paging=Paging.NONE,
        paper=False,
        fields=(
            Field("bsop_hour", "hour", Kind.TIME, required=True),
            Field("stck_prpr", "price", required=True),
            Field("acml_vol", "volume", required=True),
            *_trade_fields("whol_smtn", "program_"),
            Field("whol_ntby_vol_icdc", "program_net_change"),
            Field("whol_ntby_tr_pbmn_icdc", "program_net_value_change"),
        ),
    ),
    Endpoint(
        tr_id="FHPPG04650201",
        name="종목별 프로그램매매추이(일별)",
        path="program-trade-by-stock-daily",
        params=_stock_params(FID_INPUT_DATE_1=""),
        rows_key="output",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_1",),
        fields=(DAY, *_trade_fields("whol_smtn", "program_")),
    ),
    Endpoint(
        tr_id="FHPPG04600001",
        name="프로그램매매 종합현황(일별)",
        path="comp-program-trade-daily",
        params=_params(
            FID_COND_MRKT_DIV_CODE="J", FID_MRKT_CLS_CODE="", FID_INPUT_DATE_1="", FID_INPUT_DATE_2=""
        ),
        rows_key="output",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_2",),
        fields=(
            DAY,
            *_trade_fields("arbt_smtn", "arbitrage_"),
            *_trade_fields("nabt_smtn", "non_arbitrage_"),
            *_trade_fields("whol_smtn", "total_", parts=("arbt_smtn", "nabt_smtn")),
        ),
    ),
    Endpoint(
        tr_id="FHKST01010100",
        name="주식현재가 시세",
        path="inquire-price",
        params=_stock_params(),
        rows_key="output",
        is_list=False,
        paging=Paging.NONE,
        paper=True,
        fields=(
            Field("stck_prpr", "price", required=True),
            Field("prdy_vrss", "change"),
            Field("prdy_ctrt", "change_rate", Kind.FLOAT),
            Field("acml_vol", "volume"),
            Field("acml_tr_pbmn", "trading_value"),
            Field("bstp_kor_isnm", "sector_name", Kind.TEXT),
            Field("hts_avls", "market_cap_100m"),  # 시가총액 in KRW 100 million (억원), as KIS sends it
            Field("lstn_stcn", "listed_shares"),
            Field("hts_frgn_ehrt", "foreign_exhaustion_rate", Kind.FLOAT),
            Field("frgn_ntby_qty", "foreign_net"),
            Field("pgtr_ntby_qty", "program_net"),
        ),
    ),
    Endpoint(
        tr_id="FHKST03010100",
        name="국내주식기간별시세(일/주/월/년)",
        path="inquire-daily-itemchartprice",
        params=_stock_params(
            FID_INPUT_DATE_1="", FID_INPUT_DATE_2="", FID_PERIOD_DIV_CODE="D", FID_ORG_ADJ_PRC="0"
        ),
        rows_key="output2",
        is_list=True,
        paging=Paging.NONE,
        paper=True,
        cursor=("FID_INPUT_DATE_2",),
        fields=(
            DAY,
            Field("stck_oprc", "open", required=True),
            Field("stck_hgpr", "high", required=True),
            Field("stck_lwpr", "low", required=True),
            Field("stck_clpr", "close", required=True),
            Field("acml_vol", "volume", required=True),
            Field("acml_tr_pbmn", "trading_value", required=True),
            *BASE_PRICE_MARKS,
        ),
    ),
    Endpoint(
        tr_id="CTPF1002R",
        name="주식기본조회",
        path="search-stock-info",
        params=_params(PRDT_TYPE_CD="300", PDNO=""),
        rows_key="output",
        is_list=False,
        paging=Paging.NONE,
        paper=False,
        fields=(
            Field("prdt_abrv_name", "name", Kind.TEXT, required=True),
            Field("mket_id_cd", "market", Kind.TEXT, required=True),
            Field("idx_bztp_mcls_cd", "sector_code", Kind.TEXT, required=True),
            Field("idx_bztp_mcls_cd_name", "sector_name", Kind.TEXT, required=True),
            Field("lstg_stqt", "listed_shares", required=True),
        ),
    ),
    Endpoint(
        tr_id="FHPUP02120000",
        name="국내업종 일자별지수",
        path="inquire-index-daily-price",
        params=_params(
            FID_COND_MRKT_DIV_CODE="U", FID_INPUT_ISCD="", FID_INPUT_DATE_1="", FID_PERIOD_DIV_CODE="D"
        ),
        rows_key="output2",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("FID_INPUT_DATE_1",),
        fields=(DAY, *INDEX_FIELDS, Field("acml_vol", "volume"), Field("acml_tr_pbmn", "trading_value")),
    ),
    Endpoint(
        tr_id="FHKUP03500100",
        name="국내주식업종기간별시세(일/주/월/년)",
        path="inquire-daily-indexchartprice",
        params=_params(
            FID_COND_MRKT_DIV_CODE="U",
            FID_INPUT_ISCD="",
            FID_INPUT_DATE_1="",
            FID_INPUT_DATE_2="",
            FID_PERIOD_DIV_CODE="D",
        ),
        rows_key="output2",
        is_list=True,
        paging=Paging.NONE,
        paper=True,
        cursor=("FID_INPUT_DATE_2",),
        fields=(DAY, *INDEX_FIELDS[:4], Field("acml_vol", "volume"), Field("acml_tr_pbmn", "trading_value")),
    ),
    Endpoint(
        # START_DATE..END_DATE, at most 100 rows per call; the sample's docstring says to move the dates
        # for the next call, and CTS (이전조회KEY) is sent blank, as every sample sends it.
        tr_id="HHPST074500C0",
        name="종목별 일별 대차거래추이",
        path="daily-loan-trans",
        params=_params(MRKT_DIV_CLS_CODE="3", MKSC_SHRN_ISCD="", START_DATE="", END_DATE="", CTS=""),
        rows_key="output1",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        cursor=("END_DATE",),
        fields=(
            Field("bsop_date", "time", Kind.DATE, required=True),
            Field("new_stcn", "new_volume", required=True),
            Field("rdmp_stcn", "redeemed_volume", required=True),
            Field("rmnd_stcn", "balance_volume", required=True),
            Field("rmnd_amt", "balance_amount", required=True),
            Field("prdy_rmnd_vrss", "balance_change", check_only=True),
            Field("stck_prpr", "close", check_only=True),
        ),
    ),
    Endpoint(
        tr_id="CTCA0903R",
        name="국내휴장일조회",
        path="chk-holiday",
        params=_params(BASS_DT="", CTX_AREA_FK="", CTX_AREA_NK=""),
        rows_key="output",
        is_list=True,
        paging=Paging.TR_CONT,
        paper=False,
        fields=(
            Field("bass_dt", "time", Kind.DATE, required=True),
            Field("opnd_yn", "open", Kind.TEXT, required=True),
        ),
    ),
)
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType({e.tr_id: e for e in _REGISTRY})


def endpoint(tr_id: str) -> Endpoint:
    try:
        return ENDPOINTS[tr_id]
    except KeyError:
        raise KeyError(f"TR ID {tr_id} is not in the endpoint registry") from None
