"""investor_trends from KRX's whole-market tables: 24 requests a day instead of one KIS request per stock.

Selected by `KIS_INTEL_FLOWS_SOURCE=krx` (with KRX_ID / KRX_PW), for daily runs and backfills alike.
Each stock-day's row comes from KRX (`source = 'KRX'`) with every column KRX has: foreign (외국인 +
기타외국인), retail (개인), institution (기관합계) and its seven sub-groups, other_corporation (기타법인),
quantities in shares and values in KRW — exact, where KIS's values are rounded to 백만원. KRX has no
기타단체 investor type, so `other_organization_*` and `other_*` (기타 = 기타법인 + 기타단체) stay NULL.

A small sample of stocks per run (`KRXResource.check_sample`, default 5, chosen by a hash of the window
so it changes from day to day) is still fetched from KIS and stored as KIS rows (`source = 'KIS'`):
the `investor_flows_agree_with_krx` check then compares real KIS rows with KRX's, and can fail.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import date
from typing import TypeGuard

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from kis_intel_assets.defs.failures import deterministic_failure
from kis_intel_assets.defs.ingest.collect import (
    SymbolDataset,
    check_frame,
    fetch_dataset,
    materialize_result,
    write_frames,
)
from kis_intel_assets.defs.ingest.schemas import SYMBOL, _buy_sell_net, _group_sums, _in_window, _int, key_of
from kis_intel_assets.defs.krx.fetch import fetch_investor_flows
from kis_intel_assets.defs.krx.resources import KRXResource
from kis_intel_assets.defs.partition_metadata import rows_per_partition
from kis_intel_assets.defs.resources import DatabaseResource
from kis_intel_assets.investor_groups import (
    FLOW_SIDES,
    INSTITUTION_SUBGROUPS,
    INVESTOR_GROUPS,
    flow_column,
)
from kis_intel_assets.kis import KISClient
from kis_intel_assets.krx.portal import INVESTOR_BLD
from kis_intel_assets.storage import ConfigurationError

TABLE = "investor_trends"
# investor_trends groups KRX has no investor type for: NULL in KRX rows.
NOT_FROM_KRX = ("other", "other_organization")
KRX_GROUPS = tuple(g for g in INVESTOR_GROUPS if g not in NOT_FROM_KRX)
UNITS = {"qty": "", "value": "_value"}  # investor_trends unit -> krx_investor_flows column suffix


def kis_sample(symbols: Sequence[str], start: date, size: int) -> list[str]:
    """`size` stocks for the window, by a hash of window and code: deterministic, different each day."""
    return sorted(sorted(symbols, key=lambda s: hashlib.sha256(f"{start}:{s}".encode()).digest())[:size])


def wide_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """krx_investor_flows' long rows (one per group) as investor_trends rows (one per stock-day)."""
    wide = flows.pivot(index=["time", "symbol"], columns="group")
    frame = pd.DataFrame(index=wide.index)
    for group in INVESTOR_GROUPS:
        for side in FLOW_SIDES:
            for unit, suffix in UNITS.items():
                column = flow_column(group, side, unit)
                if group in NOT_FROM_KRX:
                    frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
                else:
                    frame[column] = wide[(f"{side}{suffix}", group)].astype("int64")
    return frame.reset_index()


def krx_schema(start: date, end: date) -> pa.DataFrameSchema:
    """investor_trends' identities that hold for KRX rows: buy − sell = net, 기관합계 = its sub-groups."""
    columns: dict[str, pa.Column] = {"time": _in_window(start, end), "symbol": SYMBOL}
    for group in INVESTOR_GROUPS:
        for side in FLOW_SIDES:
            for unit in UNITS:
                checks = [] if side == "net" else [pa.Check.ge(0)]
                if group in NOT_FROM_KRX:
                    columns[flow_column(group, side, unit)] = pa.Column("Int64", nullable=True)
                else:
                    columns[flow_column(group, side, unit)] = _int(*checks)
    return pa.DataFrameSchema(
        columns,
        checks=[*_buy_sell_net(list(KRX_GROUPS)), *_group_sums("institution", INSTITUTION_SUBGROUPS)],
        unique=key_of("investor_trends"),
        strict=True,
    )


def krx_investor_trends(
    context: dg.AssetExecutionContext,
    kis_client: KISClient,
    database: DatabaseResource,
    dataset: SymbolDataset,
    symbols: Sequence[str],
    start: date,
    end: date,
    workers: int,
    *,
    krx: KRXResource,
) -> dg.MaterializeResult:
    """The fast path's whole run (ingest_symbol_dataset's signature, plus the portal): KRX for every
    stock, KIS for the sample, one transaction."""
    started = time.monotonic()
    flows, krx_client = fetch_investor_flows(krx, database, start, end)
    wide = wide_flows(flows[flows["symbol"].isin(symbols)])
    check_frame(wide, krx_schema(start, end), TABLE, INVESTOR_BLD)
    sample = kis_sample(symbols, start, krx.check_sample)
    from_kis = fetch_dataset(kis_client, dataset, sample, start, end, workers)
    frame = pd.concat(
        [wide[~wide["symbol"].isin(sample)].assign(source="KRX"), from_kis.assign(source="KIS")],
        ignore_index=True,
    )
    written = write_frames(context, database, [(TABLE, frame)], final_for=(start, end), unavailable={})[TABLE]
    rows_per_partition(context, frame)
    kis_requests = int(kis_client.metrics.snapshot()["requests"])
    return materialize_result(
        frame,
        rows_written=written,
        symbols=len(symbols),
        client=kis_client,
        started=started,
        start=start,
        end=end,
        extra={
            "source": "krx",
            "requests": kis_requests + krx_client.request_count,
            "kis_requests": kis_requests,
            "krx_requests": krx_client.request_count,
            "krx_requests_by_bld": dg.MetadataValue.json(dict(krx_client.requests)),
            "kis_sample": dg.MetadataValue.json(sample),
            "null_groups": dg.MetadataValue.json(list(NOT_FROM_KRX)),
        },
    )


def uses_fast_path(krx: KRXResource | None) -> TypeGuard[KRXResource]:
    """Whether this run builds investor_trends from KRX; a bad setting fails at once, naming it."""
    try:
        return krx is not None and krx.fast_path
    except ConfigurationError as error:
        raise deterministic_failure(str(error)) from None
