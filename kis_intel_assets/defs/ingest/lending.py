"""Stock lending (대차거래) per stock and trading day from KIS 종목별 일별 대차거래추이 (HHPST074500C0).

KIS has no short-interest (공매도 잔고) endpoint; the lending balance is the usual proxy for it. The asset is
a per-symbol dataset like the others (defs/ingest/collect.py): the KIS pool, a single-run backfill that
asks for date ranges (100 rows per call), the fetch cache that lets a re-run ask only for what is
missing, the pandera schema (schemas.stock_lending) and the per-day table checks.

When KIS publishes day T's lending is unknown (the same evening or the next trading day), so a day with
no row for any stock is recorded as not published until the end of the next trading day
(kis/publication.py), and the daily schedule ingests lending for the trading day before its own day.
"""

from kis_intel_assets.defs.ingest import schemas
from kis_intel_assets.defs.ingest.assets import _symbol_asset
from kis_intel_assets.defs.ingest.checks import TABLE_CHECKS, measure_table
from kis_intel_assets.defs.ingest.collect import SymbolDataset
from kis_intel_assets.defs.partition_checks import build_daily_checks
from kis_intel_assets.kis.publication import PUBLICATION_LAG_DAYS

TABLE = "stock_lending"
STOCK_LENDING = SymbolDataset(
    TABLE, "HHPST074500C0", schemas.stock_lending, fetcher=lambda kis: kis.stock_lending
)
# Trading days between a day and the daily run that ingests it: as late as KIS may publish it.
DAYS_LATE = PUBLICATION_LAG_DAYS[STOCK_LENDING.tr_id]

stock_lending = _symbol_asset(
    STOCK_LENDING,
    "Stock lending per stock and day — shares newly lent, repaid and outstanding, and the outstanding "
    "balance in KRW — from 종목별 일별 대차거래추이 (HHPST074500C0), 100 days per call. The usual proxy for "
    "short interest: KIS has no 공매도 잔고 endpoint.",
)

stock_lending_checks = build_daily_checks(TABLE, TABLE_CHECKS, measure_table(TABLE), f"{TABLE}_table_checks")
