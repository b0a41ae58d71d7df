"""Response field names per endpoint: transcribed by hand from KIS's official samples (docs/kis_protocol.md
§1, §3), and exactly the official samples' documented sets (simulator/documented.py)."""

from __future__ import annotations

import pytest

from kis_intel_assets.kis import ENDPOINTS
from kis_intel_assets.kis.schema import load_baseline
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.documented import DOCUMENTED
from kis_intel_assets.simulator.handlers_base import REGISTRY
from kis_intel_assets_tests.simulator.kis_http import KisHttp
from kis_intel_assets_tests.support.simulators import SimulatorFactory

WHO = [
    "frgn",
    "prsn",
    "orgn",
    "scrt",
    "ivtr",
    "pe_fund",
    "bank",
    "insu",
    "mrbn",
    "fund",
    "etc",
    "etc_corp",
    "etc_orgt",
]
NTBY_VOL = {"pe_fund", "etc_corp", "etc_orgt"}  # docs/kis_protocol.md §3 quirk


def _net_qty(who: str) -> str:
    return f"{who}_ntby_vol" if who in NTBY_VOL else f"{who}_ntby_qty"


BREAKDOWN_FULL = {
    name
    for who in WHO
    for name in (
        _net_qty(who),
        f"{who}_ntby_tr_pbmn",
        f"{who}_seln_vol",
        f"{who}_shnu_vol",
        f"{who}_seln_tr_pbmn",
        f"{who}_shnu_tr_pbmn",
    )
} | {
    f"{reg}_{suffix}"
    for reg in ("frgn_reg", "frgn_nreg")
    for suffix in ("ntby_qty", "ntby_pbmn", "askp_qty", "askp_pbmn", "bidp_qty", "bidp_pbmn")
}
BREAKDOWN_NET = {name for who in WHO for name in (_net_qty(who), f"{who}_ntby_tr_pbmn")} | {
    f"{reg}_{suffix}" for reg in ("frgn_reg", "frgn_nreg") for suffix in ("ntby_qty", "ntby_pbmn")
}
PROGRAM_SIDES = ("seln_vol", "shnu_vol", "ntby_qty", "seln_tr_pbmn", "shnu_tr_pbmn", "ntby_tr_pbmn")
CHANGE = {"prdy_vrss", "prdy_vrss_sign", "prdy_ctrt"}
# The date and OHLCV block of every daily endpoint
DAILY_BAR = {"stck_bsop_date", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr", "acml_vol", "acml_tr_pbmn"}

# (tr_id, params, output key, exact names or None, names that must at least be present)
CASES = [
    (
        "FHKST03010100",
        {
            "FID_INPUT_DATE_1": "20250501",
            "FID_INPUT_DATE_2": "20250630",
            "FID_PERIOD_DIV_CODE": "D",
            "FID_ORG_ADJ_PRC": "0",
        },
        "output2",
        DAILY_BAR | {"prdy_vrss", "prdy_vrss_sign", "flng_cls_code", "prtt_rate", "mod_yn", "revl_issu_reas"},
        set(),
    ),
    (
        "FHKST03010100",
        {
            "FID_INPUT_DATE_1": "20250501",
            "FID_INPUT_DATE_2": "20250630",
            "FID_PERIOD_DIV_CODE": "D",
            "FID_ORG_ADJ_PRC": "0",
        },
        "output1",
        None,
        {
            "hts_kor_isnm",
            "stck_prpr",
            "stck_prdy_clpr",
            "lstn_stcn",
            "hts_avls",
            "per",
            "pbr",
            "eps",
            "vol_tnrt",
        },
    ),
    (
        "FHPTJ04160001",
        {"FID_INPUT_DATE_1": "20250630", "FID_ORG_ADJ_PRC": "", "FID_ETC_CLS_CODE": ""},
        "output1",
        {"stck_prpr", "prdy_vol", "acml_vol", "rprs_mrkt_kor_name"} | CHANGE,
        set(),
    ),
    (
        "FHPTJ04160001",
        {"FID_INPUT_DATE_1": "20250630", "FID_ORG_ADJ_PRC": "", "FID_ETC_CLS_CODE": ""},
        "output2",
        DAILY_BAR | CHANGE | {"bold_yn"} | BREAKDOWN_FULL,
        set(),
    ),
    (
        "FHKST01010900",
        {},
        "output",
        {"stck_bsop_date", "stck_clpr", "prdy_vrss", "prdy_vrss_sign"}
        | {
            f"{w}_{s}"
            for w in ("prsn", "frgn", "orgn")
            for s in ("ntby_qty", "ntby_tr_pbmn", "shnu_vol", "shnu_tr_pbmn", "seln_vol", "seln_tr_pbmn")
        },
        set(),
    ),
    (
        "FHPST04830000",
        {"FID_INPUT_DATE_1": "20250401", "FID_INPUT_DATE_2": "20250630"},
        "output1",
        {"stck_prpr", "acml_vol", "prdy_vol"} | CHANGE,
        set(),
    ),
    (
        "FHPST04830000",
        {"FID_INPUT_DATE_1": "20250401", "FID_INPUT_DATE_2": "20250630"},
        "output2",
        DAILY_BAR
        | CHANGE
        | {
            "ssts_cntg_qty",
            "ssts_vol_rlim",
            "ssts_tr_pbmn",
            "ssts_tr_pbmn_rlim",
            "acml_ssts_cntg_qty",
            "acml_ssts_cntg_qty_rlim",
            "acml_ssts_tr_pbmn",
            "acml_ssts_tr_pbmn_rlim",
            "stnd_vol_smtn",
            "stnd_tr_pbmn_smtn",
            "avrg_prc",
        },
        set(),
    ),
    (
        "FHPPG04650101",
        {},
        "output",
        {"bsop_hour", "stck_prpr", "acml_vol", "whol_ntby_vol_icdc", "whol_ntby_tr_pbmn_icdc"}
        | CHANGE
        | {f"whol_smtn_{s}" for s in PROGRAM_SIDES},
        set(),
    ),
    (
        "FHPPG04650201",
        {"FID_INPUT_DATE_1": ""},
        "output",
        {
            "stck_bsop_date",
            "stck_clpr",
            "acml_vol",
            "acml_tr_pbmn",
            "whol_ntby_vol_icdc",
            "whol_ntby_tr_pbmn_icdc2",
        }
        | CHANGE
        | {f"whol_smtn_{s}" for s in PROGRAM_SIDES},
        set(),
    ),
    (
        "FHKST01010100",
        {},
        "output",
        None,
        {
            "stck_prpr",
            "bstp_kor_isnm",
            "hts_avls",
            "lstn_stcn",
            "pgtr_ntby_qty",
            "hts_frgn_ehrt",
            "frgn_ntby_qty",
            "ssts_yn",
            "last_ssts_cntg_qty",
            "frgn_hldn_qty",
            "mrkt_warn_cls_code",
        },
    ),
]


@pytest.mark.parametrize(
    ("tr_id", "params", "key", "exact", "required"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_stock_endpoint_fields(
    simulator: Simulator,
    kis: KisHttp,
    tr_id: str,
    params: dict[str, str],
    key: str,
    exact: set[str] | None,
    required: set[str],
) -> None:
    symbol = simulator.truth.symbols()[0]
    body, _ = kis.ok(tr_id, {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol, **params})
    assert set(body) >= {"rt_cd", "msg_cd", "msg1", key}
    value = body[key]
    names = set(value[0]) if isinstance(value, list) else set(value)
    if exact is not None:
        assert names == exact, (sorted(names - exact), sorted(exact - names))
    assert required <= names, sorted(required - names)
    rows = value if isinstance(value, list) else [value]
    assert all(isinstance(v, str) for row in rows for v in row.values())


def test_market_endpoint_fields(simulator: Simulator) -> None:
    kis = KisHttp(simulator, app_key="fields-market").login()
    body, _ = kis.ok(
        "FHPPG04600001",
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_MRKT_CLS_CODE": "K",
            "FID_INPUT_DATE_1": "20250601",
            "FID_INPUT_DATE_2": "20250630",
        },
    )
    names = set(body["output"][0])
    read = {f"{k}_smtn_{s}" for k in ("arbt", "nabt", "whol") for s in PROGRAM_SIDES}
    assert read - names == {"whol_smtn_ntby_qty", "whol_smtn_ntby_tr_pbmn"}  # documented nowhere (§9)
    # KIS's mapping spells arbt_smtm_ntby_qty; the spec sheet's smtn is served, smtm/shun stay in _rate keys
    assert (
        "arbt_smtm_ntby_qty" not in names and {"arbt_smtm_ntby_tr_pbmn_rate", "whol_shun_vol_rate"} <= names
    )

    body, _ = kis.ok(
        "FHPTJ04040000",
        {
            "FID_COND_MRKT_DIV_CODE": "U",
            "FID_INPUT_ISCD": "0001",
            "FID_INPUT_DATE_1": "20250630",
            "FID_INPUT_ISCD_1": "KSP",
            "FID_INPUT_DATE_2": "20250630",
            "FID_INPUT_ISCD_2": "0001",
        },
    )
    expected = {
        "stck_bsop_date",
        "bstp_nmix_prpr",
        "bstp_nmix_prdy_vrss",
        "bstp_nmix_prdy_ctrt",
        "bstp_nmix_oprc",
        "bstp_nmix_hgpr",
        "bstp_nmix_lwpr",
        "stck_prdy_clpr",
        "prdy_vrss_sign",
    } | BREAKDOWN_NET
    assert set(body["output"][0]) == expected

    body, _ = kis.ok(
        "FHPTJ04400000",
        {
            "FID_COND_MRKT_DIV_CODE": "V",
            "FID_COND_SCR_DIV_CODE": "16449",
            "FID_INPUT_ISCD": "0000",
            "FID_DIV_CLS_CODE": "0",
            "FID_RANK_SORT_CLS_CODE": "0",
            "FID_ETC_CLS_CODE": "0",
        },
    )
    groups = ("frgn", "orgn", "ivtr", "bank", "insu", "mrbn", "fund")
    expected = (
        {"hts_kor_isnm", "mksc_shrn_iscd", "ntby_qty", "stck_prpr", "acml_vol"}
        | CHANGE
        | {f"{g}_ntby_qty" for g in groups}
        | {"etc_orgt_ntby_vol", "etc_corp_ntby_vol"}
        | {f"{g}_ntby_tr_pbmn" for g in (*groups, "etc_orgt", "etc_corp")}
    )
    assert set(body["output"][0]) == expected
    assert 0 < len(body["output"]) <= 30

    body, _ = kis.ok(
        "FHPUP02120000",
        {
            "FID_COND_MRKT_DIV_CODE": "U",
            "FID_INPUT_ISCD": "0013",
            "FID_INPUT_DATE_1": "20250630",
            "FID_PERIOD_DIV_CODE": "D",
        },
    )
    assert set(body) >= {"output1", "output2"}
    assert set(body["output2"][0]) >= {
        "stck_bsop_date",
        "bstp_nmix_oprc",
        "bstp_nmix_hgpr",
        "bstp_nmix_lwpr",
        "bstp_nmix_prpr",
        "acml_vol",
        "acml_tr_pbmn",
    }

    symbol = simulator.truth.symbols()[0]
    body, _ = kis.ok("CTPF1002R", {"PRDT_TYPE_CD": "300", "PDNO": symbol})
    required = {
        "idx_bztp_lcls_cd",
        "idx_bztp_mcls_cd",
        "idx_bztp_scls_cd",
        "idx_bztp_lcls_cd_name",
        "idx_bztp_mcls_cd_name",
        "idx_bztp_scls_cd_name",
        "std_idst_clsf_cd",
        "std_idst_clsf_cd_name",
        "mket_id_cd",
        "scty_grp_id_cd",
        "excg_dvsn_cd",
        "kospi200_item_yn",
        "lstg_stqt",
        "cpta",
        "papr",
        "tr_stop_yn",
        "admn_item_yn",
        "thdt_clpr",
        "bfdy_clpr",
        "frnr_psnl_lmt_rt",
        "cptt_trad_tr_psbl_yn",
        "nxt_tr_stop_yn",
        "lstg_abol_dt",
    }
    assert required <= set(body["output"])
    assert body["output"]["mket_id_cd"] in ("STK", "KSQ")


def test_stock_lending_fields(simulator: Simulator) -> None:
    """종목별 일별 대차거래추이: the rows are in output1 (the sample reads output1), KIS's names."""
    kis = KisHttp(simulator, app_key="fields-lending").login()
    symbol = simulator.truth.symbols()[0]
    body, _ = kis.ok(
        "HHPST074500C0",
        {
            "MRKT_DIV_CLS_CODE": "3",
            "MKSC_SHRN_ISCD": symbol,
            "START_DATE": "20250501",
            "END_DATE": "20250630",
            "CTS": "",
        },
    )
    assert set(body) == {"rt_cd", "msg_cd", "msg1", "output1"}
    expected = {
        "bsop_date",
        "stck_prpr",
        "acml_vol",
        "new_stcn",
        "rdmp_stcn",
        "prdy_rmnd_vrss",
        "rmnd_stcn",
        "rmnd_amt",
    } | CHANGE
    assert 30 <= len(body["output1"]) <= 100 and all(set(row) == expected for row in body["output1"])


def test_token_response_fields(simulator: Simulator) -> None:
    response = KisHttp(simulator, app_key="fields-token").issue_token()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "access_token_token_expired"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400


# Sample parameters of every served TR (FID_INPUT_ISCD / PDNO default to a universe symbol)
SERVED_PARAMS: dict[str, dict[str, str]] = {
    "FHKST01010900": {"FID_COND_MRKT_DIV_CODE": "J"},
    "FHPTJ04160001": {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_DATE_1": "20250630"},
    "FHPTJ04400000": {
        "FID_COND_MRKT_DIV_CODE": "V",
        "FID_COND_SCR_DIV_CODE": "16449",
        "FID_INPUT_ISCD": "0000",
        "FID_DIV_CLS_CODE": "0",
        "FID_RANK_SORT_CLS_CODE": "0",
        "FID_ETC_CLS_CODE": "0",
    },
    "FHPTJ04040000": {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20250630",
        "FID_INPUT_ISCD_1": "KSP",
        "FID_INPUT_DATE_2": "20250630",
        "FID_INPUT_ISCD_2": "0001",
    },
    "FHPST04830000": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_DATE_1": "20250501",
        "FID_INPUT_DATE_2": "20250630",
    },
    "FHPPG04650101": {"FID_COND_MRKT_DIV_CODE": "J"},
    "FHPPG04650201": {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_DATE_1": "20250630"},
    "FHPPG04600001": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_MRKT_CLS_CODE": "K",
        "FID_INPUT_DATE_1": "20250501",
        "FID_INPUT_DATE_2": "20250630",
    },
    "FHKST01010100": {"FID_COND_MRKT_DIV_CODE": "J"},
    "FHKST03010100": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_DATE_1": "20250501",
        "FID_INPUT_DATE_2": "20250630",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    },
    "CTPF1002R": {"PRDT_TYPE_CD": "300"},
    "FHPUP02120000": {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20250630",
        "FID_PERIOD_DIV_CODE": "D",
    },
    "CTPF1604R": {"PRDT_TYPE_CD": "300"},
    "FHKST01010400": {"FID_COND_MRKT_DIV_CODE": "J", "FID_PERIOD_DIV_CODE": "D", "FID_ORG_ADJ_PRC": "1"},
    "FHKST03010200": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_HOUR_1": "100000",
        "FID_PW_DATA_INCU_YN": "Y",
    },
    "FHKST03010230": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_HOUR_1": "130000",
        "FID_INPUT_DATE_1": "20250620",
    },
    "FHKST01010200": {"FID_COND_MRKT_DIV_CODE": "J"},
    "FHKST01010300": {"FID_COND_MRKT_DIV_CODE": "J"},
    "FHKUP03500100": {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20250101",
        "FID_INPUT_DATE_2": "20250630",
        "FID_PERIOD_DIV_CODE": "D",
    },
    "FHPTJ04030000": {"FID_INPUT_ISCD": "999", "FID_INPUT_ISCD_2": "S001"},
    "FHPST01710000": {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_COND_SCR_DIV_CODE": "20171",
        "FID_INPUT_ISCD": "0000",
        "FID_DIV_CLS_CODE": "0",
        "FID_BLNG_CLS_CODE": "0",
    },
    "CTCA0903R": {"BASS_DT": "20250601", "CTX_AREA_FK": "", "CTX_AREA_NK": ""},
    "HHPST074500C0": {"MRKT_DIV_CLS_CODE": "3", "START_DATE": "20250501", "END_DATE": "20250630", "CTS": ""},
}


def test_every_endpoint_serves_exactly_its_documented_fields(simulator_factory: SimulatorFactory) -> None:
    """The official samples' column mappings (simulator/documented.py), documented fields left out
    before included (82 for 주식현재가 시세, 67 for CTPF1002R)."""
    simulator = simulator_factory(n_symbols=6, rate_limit_per_sec=500)
    kis = KisHttp(simulator, app_key="fields-documented").login()
    assert set(SERVED_PARAMS) == set(REGISTRY) == set(DOCUMENTED)
    symbol = simulator.truth.symbols()[0]
    for tr_id, params in SERVED_PARAMS.items():
        query = {"FID_INPUT_ISCD": symbol, "PDNO": symbol, "MKSC_SHRN_ISCD": symbol, **params}
        body, _ = kis.ok(tr_id, query)
        for key, names in DOCUMENTED[tr_id].items():
            rows = body[key] if isinstance(body[key], list) else [body[key]]
            assert rows and all(list(row) == list(names) for row in rows), (tr_id, key)
    assert len(DOCUMENTED["FHKST01010100"]["output"]) == 82 and len(DOCUMENTED["CTPF1002R"]["output"]) == 67


def test_the_shipped_baseline_holds_exactly_the_documented_fields() -> None:
    baseline = load_baseline()
    assert set(baseline) == set(ENDPOINTS)
    for tr_id, outputs in baseline.items():
        assert {key: set(o["fields"]) for key, o in outputs.items()} == {
            key: set(names) for key, names in DOCUMENTED[tr_id].items()
        }, tr_id
