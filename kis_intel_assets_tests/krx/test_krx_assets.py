"""The KRX assets end to end: the KIS simulator and the KRX portal simulator over one market on loopback,
real PostgreSQL, `dagster.materialize` of the real graph.

What is checked: short balance (its table and short_selling's RFC columns) equals the KRX simulator's
ground truth after a backfill and survives a later short_selling re-write; a day KRX has not published
(T+3) is not written; with KRX not configured no request reaches the portal and the product says so once;
the KIS-vs-KRX reconciliation passes on both simulators and names the stock and group of a planted
mismatch; the fast path writes investor_trends from KRX with its request count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime

import dagster as dg
import pandas as pd
import pytest

from kis_intel_assets.defs.ingest.universe import listed_symbols
from kis_intel_assets.defs.krx import resources as krx_resources
from kis_intel_assets.defs.krx.checks import CHECK_NAME, krx_checks
from kis_intel_assets.defs.krx.fast_path import NOT_FROM_KRX, kis_sample, wide_flows
from kis_intel_assets.defs.krx.resources import KRX_OFF, KRXResource, krx_resource_from_env
from kis_intel_assets.defs.krx.schedules import krx_daily_schedule, krx_requests
from kis_intel_assets.defs.partitions import SEOUL
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.investor_groups import INVESTOR_GROUPS, flow_column
from kis_intel_assets.krx.portal import BALANCE_BLD, INVESTOR_BLD
from kis_intel_assets.krx_calendar import trading_days
from kis_intel_assets.simulator import Simulator, SimulatorConfig, running_simulator
from kis_intel_assets.simulator.krx_app import DEFAULT_ACCOUNTS, KRXSimSettings
from kis_intel_assets.simulator.krx_market import PlantedMismatch
from kis_intel_assets.simulator.krx_server import KRXSimulator, running_krx_simulator
from kis_intel_assets.storage import connect, fetch_frame
from kis_intel_assets_tests.support.simulators import simulator_resources

ACCOUNT, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))
MARKET = SimulatorConfig(
    seed=7, n_symbols=24, start=date(2025, 3, 4), end=date(2025, 6, 30), rate_limit_per_sec=100.0
)
DAYS = trading_days(date(2025, 6, 16), date(2025, 6, 20))  # published on the simulators' clock
LATEST = date(2025, 6, 30)  # its balance is published on T+3, after the simulators' clock
FLOW_TR = "FHPTJ04160001"


# ##### FIXTURES


@pytest.fixture(scope="module")
def kis_sim() -> Iterator[Simulator]:
    with running_simulator(MARKET) as sim:
        yield sim


@pytest.fixture
def krx_sim(kis_sim: Simulator) -> Iterator[KRXSimulator]:
    """A fresh portal per test (its request counts and planted mismatch are the test's own)."""
    with running_krx_simulator(kis_sim.model, KRXSimSettings(block_after_requests=10_000)) as sim:
        yield sim


def graph_resources(
    kis_sim: Simulator,
    krx_sim: KRXSimulator,
    database_url: str,
    app_key: str,
    *,
    configured: bool = True,
    **krx: object,
) -> dict[str, object]:
    """`app_key`: one per test, as KIS issues one token per key and minute (each test has its own
    database, so its own token store)."""
    portal = (
        KRXResource(
            login_id=ACCOUNT, password=PASSWORD, base_url=krx_sim.base_url, requests_per_second=50, **krx
        )
        if configured
        else KRXResource(base_url=krx_sim.base_url)
    )
    resources = simulator_resources(
        kis_sim, database_url, app_key, rate_limit_per_sec=100, fetch_workers=4, krx=portal
    )
    return {**resources, "krx": portal}


def run(
    keys: Sequence[str], resources: dict[str, object], days: Sequence[date], **kwargs: object
) -> dg.ExecuteInProcessResult:
    return materialize_selection(keys, resources, days=days, raise_on_error=False, quiet=True, **kwargs)


def load_universe(resources: dict[str, object]) -> None:
    assert run(["stock_universe"], resources, []).success


def table(database_url: str, query: str) -> pd.DataFrame:
    with connect(database_url) as conn:
        return fetch_frame(conn, query)


def check_evaluations(result: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    return [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]


# ##### TESTS


def test_backfilled_balance_equals_krx_truth_and_survives_a_short_selling_rewrite(
    kis_sim: Simulator, krx_sim: KRXSimulator, database_url: str
) -> None:
    resources = graph_resources(kis_sim, krx_sim, database_url, "krx-balance")
    load_universe(resources)
    instance = dg.DagsterInstance.ephemeral()
    result = run(["short_selling", "short_balance"], resources, DAYS, instance=instance)
    assert result.success
    logged = " ".join(
        f"{entry.user_message} {entry.dagster_event}" for entry in instance.all_logs(result.run_id)
    )
    assert krx_sim.stats.total() > 0 and ACCOUNT not in logged and PASSWORD not in logged

    truth = pd.concat([krx_sim.truth.short_balance(day) for day in DAYS], ignore_index=True)
    stored = table(database_url, "SELECT * FROM short_balance ORDER BY time, symbol")
    assert len(stored) == len(truth) > 0
    for column in ("symbol", "balance_volume", "balance_amount", "listed_shares"):
        assert stored[column].tolist() == truth[column].tolist(), column
    assert stored["time"].tolist() == truth["time"].tolist()
    assert [float(r) for r in stored["balance_ratio"]] == truth["balance_ratio"].tolist()

    def short_selling_balance() -> pd.DataFrame:
        return table(
            database_url,
            "SELECT time::date AS time, symbol, balance_volume, balance_amount, balance_ratio "
            "FROM short_selling ORDER BY time, symbol",
        )

    filled = short_selling_balance().merge(truth, on=["time", "symbol"], suffixes=("", "_krx"))
    assert len(filled) == len(truth)
    assert (filled["balance_volume"] == filled["balance_volume_krx"]).all()
    assert (filled["balance_amount"] == filled["balance_amount_krx"]).all()
    assert (filled["balance_ratio"].astype(float) == filled["balance_ratio_krx"]).all()
    metadata = result.asset_materializations_for_node("short_balance")[0].metadata
    assert metadata["krx_requests_by_bld"].value[BALANCE_BLD] == 2 * len(DAYS)

    before = short_selling_balance()
    assert run(["short_selling"], resources, DAYS).success  # KIS re-writes the day: balance stays
    pd.testing.assert_frame_equal(short_selling_balance(), before)


def test_a_balance_day_not_yet_published_is_not_written(
    kis_sim: Simulator, krx_sim: KRXSimulator, database_url: str
) -> None:
    resources = graph_resources(kis_sim, krx_sim, database_url, "krx-unpublished")
    load_universe(resources)
    result = run(["short_balance"], resources, [LATEST])

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "not published yet" in failure.step_failure_data.error.message
    assert table(database_url, "SELECT count(*) AS n FROM short_balance")["n"][0] == 0


def test_krx_off_makes_no_request_and_says_so_once(
    kis_sim: Simulator, krx_sim: KRXSimulator, database_url: str
) -> None:
    krx_resources._said.clear()  # a fresh process, as far as the line is concerned
    resources = graph_resources(kis_sim, krx_sim, database_url, "krx-off", configured=False)
    load_universe(resources)
    instance = dg.DagsterInstance.ephemeral()
    results = [
        run(["short_selling", "short_balance", "krx_investor_flows"], resources, DAYS, instance=instance)
        for _ in range(2)
    ]

    assert all(r.success for r in results)
    assert krx_sim.stats.total() == 0
    materialized = {
        e.asset_key.to_user_string() for r in results for e in r.get_asset_materialization_events()
    }
    assert materialized == {"short_selling"}
    said = [
        entry.user_message
        for r in results
        for entry in instance.all_logs(r.run_id)
        if KRX_OFF in entry.user_message
    ]
    assert len(said) == 1
    assert "stock_lending" in said[0]


def test_reconciliation_passes_on_both_simulators_and_names_a_planted_mismatch(
    kis_sim: Simulator, krx_sim: KRXSimulator, database_url: str
) -> None:
    resources = graph_resources(kis_sim, krx_sim, database_url, "krx-reconcile")
    load_universe(resources)
    day = DAYS[-1]
    agreed = run(["investor_trends", "krx_investor_flows"], resources, [day], checks=krx_checks)
    assert agreed.success
    (evaluation,) = check_evaluations(agreed)
    assert evaluation.passed
    kis_rows = table(database_url, "SELECT count(*) AS n FROM investor_trends WHERE source = 'KIS'")["n"][0]
    assert evaluation.metadata["stocks_compared"].value == kis_rows > 0

    symbol = kis_sim.truth.listed_symbols(day)[3]
    krx_sim.plant_mismatch(PlantedMismatch(symbol=symbol, group="pension_fund", delta=120, day=day))
    disagreed = run(["krx_investor_flows"], resources, [day], checks=krx_checks)
    (evaluation,) = check_evaluations(disagreed)
    assert not evaluation.passed
    mismatches = evaluation.metadata["mismatches"].value
    assert [(m["symbol"], m["group"]) for m in mismatches] == [(symbol, "pension_fund")]
    assert mismatches[0]["krx_net"] - mismatches[0]["kis_net"] == 120


def test_fast_path_builds_investor_trends_from_krx_with_a_kis_sample(
    kis_sim: Simulator, krx_sim: KRXSimulator, database_url: str
) -> None:
    resources = graph_resources(
        kis_sim, krx_sim, database_url, "krx-fast", flows_source="krx", check_sample=3
    )
    load_universe(resources)
    kis_calls_before = sum(r.tr_id == FLOW_TR for r in kis_sim.stats.requests())
    result = run(["investor_trends", "krx_investor_flows"], resources, DAYS, checks=krx_checks)
    assert result.success

    with connect(database_url) as conn:
        sample = kis_sample(listed_symbols(conn, DAYS[0]), DAYS[0], 3)
    assert sum(r.tr_id == FLOW_TR for r in kis_sim.stats.requests()) - kis_calls_before == len(sample)
    metadata = result.asset_materializations_for_node("investor_trends")[0].metadata
    assert metadata["kis_requests"].value == len(sample)
    # 12 investor types x 2 markets per day, whatever the number of stocks (plus the login).
    assert metadata["krx_requests_by_bld"].value[INVESTOR_BLD] == 24 * len(DAYS)
    stored = table(database_url, "SELECT * FROM investor_trends ORDER BY time, symbol")
    stored["time"] = pd.to_datetime(stored["time"]).dt.date
    from_krx = stored[stored["source"] == "KRX"].reset_index(drop=True)
    assert set(stored.loc[stored["source"] == "KIS", "symbol"]) == set(sample)

    truth = wide_flows(pd.concat([krx_sim.truth.investor_flows(day) for day in DAYS], ignore_index=True))
    truth = truth[~truth["symbol"].isin(sample)].sort_values(["time", "symbol"], ignore_index=True)
    assert from_krx[["time", "symbol"]].values.tolist() == truth[["time", "symbol"]].values.tolist()
    for group in INVESTOR_GROUPS:
        for column in (flow_column(group, s, u) for s in ("buy", "sell", "net") for u in ("qty", "value")):
            if group in NOT_FROM_KRX:
                assert from_krx[column].isna().all(), column
            else:
                assert from_krx[column].astype("int64").tolist() == truth[column].tolist(), column
    (evaluation, *others) = check_evaluations(result)
    assert all(e.passed for e in [evaluation, *others])
    assert evaluation.metadata["stocks_compared"].value == len(sample)


def test_krx_schedule_asks_for_t_minus_3_and_missing_balance_days_and_skips_while_krx_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = datetime(2025, 6, 30, 18, 10, tzinfo=SEOUL)  # a Monday: T-3 is the Wednesday before
    monkeypatch.delenv("KRX_ID", raising=False)
    off = krx_daily_schedule(dg.build_schedule_context(scheduled_execution_time=at))
    assert isinstance(off, dg.SkipReason) and off.skip_message == KRX_OFF

    written = {"2025-06-19", "2025-06-20", "2025-06-24"}  # 2025-06-23 is missing
    asked = {
        (r.partition_key, tuple(k.to_user_string() for k in r.asset_selection))
        for r in krx_requests(at.date(), written)
    }
    assert asked == {
        ("2025-06-25", ("short_balance",)),
        ("2025-06-23", ("short_balance",)),
        ("2025-06-30", ("krx_investor_flows",)),
    }


def test_the_definitions_read_the_krx_login_as_env_vars_and_show_only_their_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRX_ID", ACCOUNT)
    monkeypatch.setenv("KRX_PW", PASSWORD)
    portal = krx_resource_from_env()
    assert isinstance(portal.password, dg.EnvVar) and portal.password == "KRX_PW"
    assert isinstance(portal.login_id, dg.EnvVar) and portal.login_id == "KRX_ID"
    assert PASSWORD not in repr(portal) and ACCOUNT not in repr(portal)
    monkeypatch.delenv("KRX_PW")
    assert not krx_resource_from_env().configured  # one of the two missing: KRX stays off
