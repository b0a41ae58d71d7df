"""The investor_trends schema with Kiwoom rows: the groups Kiwoom cannot give are NULL in KIWOOM rows and
only there (a zero is rejected, so is a NULL in a KIS row); every other identity still holds in both."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandera.errors as pa_errors
import pytest

from kis_intel_assets.defs.ingest.schemas import investor_trends
from kis_intel_assets.kiwoom.routing import ROUTED_DATASETS
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.truth import GroundTruth
from kis_intel_assets_tests.support.kiwoom import MARKET

DAY = date(2024, 6, 28)
NOT_FROM_KIWOOM = list(ROUTED_DATASETS["investor_trends"].not_from_kiwoom)


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """Ground truth for one day, the first half of the stocks as Kiwoom serves them."""
    truth = GroundTruth(MarketModel(MARKET)).investor_trends(DAY, DAY).reset_index(drop=True)
    frame = truth.astype({c: "Int64" for c in NOT_FROM_KIWOOM})
    from_kiwoom = frame.index < len(frame) // 2
    frame["source"] = ["KIWOOM" if k else "KIS" for k in from_kiwoom]
    frame.loc[from_kiwoom, NOT_FROM_KIWOOM] = pd.NA
    return frame


def validate(frame: pd.DataFrame) -> None:
    investor_trends(DAY, DAY).validate(frame, lazy=True)


def test_kiwoom_rows_with_null_groups_and_kis_rows_pass(mixed):
    validate(mixed)
    validate(mixed.drop(columns="source").iloc[len(mixed) // 2 :])  # a KIS-only run has no source column


def test_a_zero_instead_of_null_in_a_kiwoom_row_is_rejected(mixed):
    frame = mixed.copy()
    frame.loc[0, NOT_FROM_KIWOOM] = 0
    with pytest.raises(pa_errors.SchemaErrors, match="must be NULL in Kiwoom rows"):
        validate(frame)


def test_a_null_group_in_a_kis_row_is_rejected(mixed):
    frame = mixed.copy()
    frame.loc[len(frame) - 1, "other_organization_buy"] = pd.NA
    with pytest.raises(pa_errors.SchemaErrors, match="must be NULL in Kiwoom rows"):
        validate(frame)


def test_identities_of_the_groups_kiwoom_gives_still_hold_in_kiwoom_rows(mixed):
    frame = mixed.copy()
    frame.loc[0, "foreign_net"] = frame.loc[0, "foreign_net"] + 1
    with pytest.raises(pa_errors.SchemaErrors, match="foreign_net must equal foreign_buy - foreign_sell"):
        validate(frame)
