"""Official 공매도 과열종목 designations: the master-file flag, the dataset, and the check of our detection.

The simulator flags, in the master files of ban day D, the stocks the KRX rule bans on D (the product's
own rule applied to the simulated market) with any planted differences; the product ingests the day's
list through the real client and compares it with what its short_overheat asset detected.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

import dagster as dg
import pytest

from kis_intel_assets.defs.ingest.assets import stock_universe
from kis_intel_assets.defs.ingest.overheat_designations import overheat_designation_checks
from kis_intel_assets.defs.selection import materialize_selection
from kis_intel_assets.kis.errors import KISPayloadError
from kis_intel_assets.kis.masters import MASTER_FILES, master_file_day, parse_master, short_overheat_symbols
from kis_intel_assets.simulator import SimulatorConfig, running_simulator
from kis_intel_assets.simulator.clock import KST
from kis_intel_assets.simulator.overheat import OverheatDifference
from kis_intel_assets.simulator.server import Simulator
from kis_intel_assets.storage import connect
from kis_intel_assets_tests.support.databases import scratch_database
from kis_intel_assets_tests.support.simulators import simulator_resources

RATE = 100.0
ASSET = "short_overheat_designations"
CHECK = "detection_matches_official"
# seed 7, 40 stocks: the rule bans 353650 on 06-10, and 093030 on 07-08 and, extended, 07-09.
BAN_DAY, EXTENDED_DAY, QUIET_DAY = date(2025, 6, 10), date(2025, 7, 9), date(2025, 7, 1)
BANNED, EXTENDED = "353650", "093030"


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    config = SimulatorConfig(
        seed=7, n_symbols=40, start=date(2025, 3, 3), end=date(2025, 7, 15), rate_limit_per_sec=RATE
    )
    with running_simulator(config) as sim:
        yield sim


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "kis_test_overheat", migrated_template) as url:
        yield url


@pytest.fixture(scope="module")
def ingested(simulator: Simulator, database_url: str) -> dict[str, object]:
    """The whole simulated history of prices and short selling, and our detection over it."""
    resources = simulator_resources(simulator, database_url, "overheat-key", rate_limit_per_sec=RATE)
    days = [day.astype(date) for day in simulator.model.days]
    assert dg.materialize([stock_universe], resources=resources).success
    assert materialize_selection(["daily_prices", "short_selling"], resources, days=days).success
    assert materialize_selection(["short_overheat"], resources, days=days[41:]).success
    return resources


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KST)


def ingest_day(
    simulator: Simulator, resources: dict, day: date, **kwargs: object
) -> dg.ExecuteInProcessResult:
    """Materialize the official list of `day` (and its check) on the morning of `day`."""
    simulator.set_now(at(day))
    return materialize_selection(
        [ASSET], resources, partition_key=day.isoformat(), checks=overheat_designation_checks, **kwargs
    )


def stored(database_url: str, day: date) -> list[str]:
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT symbol, source FROM short_overheat_designations WHERE time = %s ORDER BY symbol", (day,)
        ).fetchall()
    assert {source for _, source in rows} <= {"KIS_MASTER"}
    return [symbol for symbol, _ in rows]


def evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (found,) = result.get_asset_check_evaluations()
    assert found.check_name == CHECK
    return found


def test_a_master_file_describes_the_trading_day_from_its_morning() -> None:
    friday, monday = date(2025, 6, 20), date(2025, 6, 23)
    assert master_file_day(at(friday, 8)) == friday
    assert master_file_day(datetime(2025, 6, 20, 7, 59, tzinfo=KST)) == date(2025, 6, 19)
    assert master_file_day(at(friday, 23)) == friday
    assert master_file_day(at(date(2025, 6, 22), 12)) == friday  # Sunday: Friday's files
    assert master_file_day(at(monday, 7)) == friday
    assert master_file_day(at(date(2025, 6, 6), 10)) == date(2025, 6, 5)  # Memorial Day holiday


def test_an_undocumented_flag_value_names_the_file_line_and_field() -> None:
    kospi = MASTER_FILES[0]

    def tail(flag: str) -> str:  # group code "ST", the flag at its offset in the 227-char KOSPI tail
        return "ST" + "0" * 157 + flag + "0" * 67

    lines = [
        f"{'005930':<9}KR7005930003삼성전자" + tail("Y"),
        f"{'000660':<9}KR7000660001SK하이닉스" + tail("X"),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kospi_code.mst", "\n".join(lines).encode("cp949"))
    entries = parse_master(buffer.getvalue(), kospi)
    assert short_overheat_symbols(entries[:1], kospi) == ["005930"]
    with pytest.raises(KISPayloadError) as raised:
        short_overheat_symbols(entries, kospi)
    assert "kospi_code.mst.zip" in str(raised.value) and "line 2 field ssts_hot_yn" in str(raised.value)
    assert "'X' is not Y or N" in str(raised.value)


@pytest.fixture(autouse=True)
def _reset(simulator: Simulator) -> Iterator[None]:
    """Each test starts and ends with no planted difference and the default clock."""
    yield
    simulator.set_overheat_differences(())
    simulator.set_now(None)


def test_the_flag_parsed_from_the_served_master_files_is_the_official_truth(
    ingested: dict, simulator: Simulator
) -> None:
    seen = {}
    for day in (BAN_DAY, EXTENDED_DAY, QUIET_DAY):
        simulator.set_now(at(day))
        with ingested["kis"].client() as client:
            file_day, flagged = client.short_overheat_designations()
        assert file_day == day
        assert sorted(flagged["symbol"]) == simulator.truth.short_overheat_designations(day)
        seen[day] = sorted(flagged["symbol"])
    assert seen == {BAN_DAY: [BANNED], EXTENDED_DAY: [EXTENDED], QUIET_DAY: []}
    simulator.set_now(at(EXTENDED_DAY, 7))  # before 08:00 the files are still the previous trading day's
    with ingested["kis"].client() as client:
        file_day, flagged = client.short_overheat_designations()
    assert file_day == date(2025, 7, 8) and sorted(flagged["symbol"]) == [EXTENDED]


def test_the_day_is_written_exactly_and_the_check_passes_without_differences(
    ingested: dict, simulator: Simulator, database_url: str
) -> None:
    for day in (BAN_DAY, EXTENDED_DAY, QUIET_DAY):
        result = ingest_day(simulator, ingested, day)
        assert result.success
        assert stored(database_url, day) == simulator.truth.short_overheat_designations(day)
        found = evaluation(result)
        assert found.partition == day.isoformat() and found.passed, found.metadata
        assert found.metadata["differences"].value == []
    assert stored(database_url, BAN_DAY) == [BANNED]
    assert stored(database_url, EXTENDED_DAY) == [EXTENDED]  # the ban extended by a ≥ 5% fall on 07-08


def test_planted_differences_fail_the_check_listing_exactly_them(
    ingested: dict, simulator: Simulator, database_url: str
) -> None:
    extra = next(s for s in simulator.truth.listed_symbols(BAN_DAY) if s != BANNED)
    simulator.set_overheat_differences(
        [OverheatDifference(BAN_DAY, BANNED, designated=False), OverheatDifference(BAN_DAY, extra, True)]
    )
    result = ingest_day(simulator, ingested, BAN_DAY)
    assert result.success  # WARN: the run goes on
    assert stored(database_url, BAN_DAY) == [extra] == simulator.truth.short_overheat_designations(BAN_DAY)
    found = evaluation(result)
    assert not found.passed and found.severity == dg.AssetCheckSeverity.WARN
    listed = {extra: "official only", BANNED: "detected only"}
    expected = [{"symbol": symbol, "difference": listed[symbol]} for symbol in sorted(listed)]
    assert found.metadata["differences"].value == expected
    assert found.metadata["difference_count"].value == 2

    simulator.set_overheat_differences(())
    again = ingest_day(simulator, ingested, BAN_DAY)
    assert evaluation(again).passed and stored(database_url, BAN_DAY) == [BANNED]  # the day's list replaced


def test_a_backfill_of_a_past_day_is_refused_and_writes_nothing(
    ingested: dict, simulator: Simulator, database_url: str
) -> None:
    past = date(2025, 6, 24)
    simulator.set_now(at(QUIET_DAY))
    for kwargs in ({"partition_key": past.isoformat()}, {"days": [past, date(2025, 6, 25)]}):
        result = materialize_selection([ASSET], ingested, raise_on_error=False, **kwargs)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        message = str(failure.step_failure_data.error.message)
        assert f"describe {QUIET_DAY} only" in message and "past days are not available from KIS" in message
    assert stored(database_url, past) == []
