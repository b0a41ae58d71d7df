"""Fault injection by the simulator: transient faults are retried to the right answer, persistent ones
become typed errors naming TR ID and symbol, corrupted fields never come back as numbers, and no secret
reaches logs or exception text on the way."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from kis_intel_assets.kis import (
    ENDPOINTS,
    KISClient,
    KISConfig,
    KISPayloadError,
    KISTransientError,
    RetrySettings,
)
from kis_intel_assets.kis.session import MAX_THROTTLED_RETRIES, KISSession
from kis_intel_assets_tests.support.kis_market import END

START = dt.date(2025, 2, 3)


def test_transient_faults_are_retried_to_the_true_answer(
    faulty_sim: Callable[..., Any], make_config: Callable[..., KISConfig], caplog: pytest.LogCaptureFixture
) -> None:
    spec = "egw00201_500=0.15,egw00201_200=0.15,http5xx=0.15,drop=0.1,malformed=0.05,timeout=0.05"
    with faulty_sim(spec, timeout_seconds=1.2) as sim, caplog.at_level(logging.DEBUG):
        retry = RetrySettings(max_attempts=8, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)
        config = make_config(sim, read_timeout_seconds=0.5, retry=retry)
        symbols = sim.truth.symbols()[:4]
        with KISSession(config) as session:
            client = KISClient(session)
            frames = [client.daily_prices(s, START, END) for s in symbols]
            frames += [client.short_selling(s, START, END) for s in symbols]
            token = session._tokens.get().value.reveal()
            retries = client.metrics.snapshot()["retries"]
        faults = sim.stats.fault_counts
    truth = sim.truth.daily_prices(START, END, symbols)
    ours = pd.concat(frames[:4])[list(truth.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, truth.reset_index(drop=True), check_dtype=False)
    assert sum(len(f) for f in frames[4:]) == len(sim.truth.short_selling(START, END, symbols))
    assert retries["rate_limited"] == faults.get("egw00201_500", 0) + faults.get("egw00201_200", 0) > 0
    assert retries["http5xx"] == faults.get("http5xx", 0) > 0
    assert retries.get("bad_json", 0) == faults.get("malformed", 0)
    # A dropped connection surfaces as a connection error or, rarely, a read timeout; a loaded machine can
    # add a timeout of its own, so these two are bounded below rather than matched exactly.
    dropped_or_slow = faults.get("drop", 0) + faults.get("timeout", 0)
    assert retries.get("connection", 0) + retries.get("timeout", 0) >= dropped_or_slow > 0
    for secret in (config.app_key.reveal(), config.app_secret.reveal(), token):
        assert secret not in caplog.text
    assert "rate_limited" in caplog.text  # the retries were logged, just without credentials


@pytest.mark.parametrize("kind", ["truncated", "malformed", "http5xx", "egw00201_200"])
def test_persistent_transient_fault_becomes_typed_error(
    kind: str, faulty_sim: Callable[..., Any], make_config: Callable[..., KISConfig]
) -> None:
    with faulty_sim(f"{kind}@FHPST04830000=1") as sim:
        config = make_config(sim)
        symbol = sim.truth.symbols()[0]
        with KISClient.connect(config) as client, pytest.raises(KISTransientError) as info:
            client.short_selling(symbol, START, END)
        served = sim.stats.requests(config.app_key.reveal(), "FHPST04830000")
    error = info.value
    assert (error.tr_id, error.symbol, error.attempts) == ("FHPST04830000", symbol, config.retry.max_attempts)
    if kind.startswith("egw"):  # refusals first lower the key's budget to its floor, then count as failures
        assert config.retry.max_attempts < len(served) <= config.retry.max_attempts + MAX_THROTTLED_RETRIES
    else:
        assert len(served) == config.retry.max_attempts
    assert "FHPST04830000" in str(error) and symbol in str(error)
    for secret in (config.app_key.reveal(), config.app_secret.reveal()):
        assert secret not in str(error) and secret not in repr(error)


@pytest.mark.parametrize("tr_id", ["FHKST03010100", "FHPTJ04160001", "FHPST04830000"])
def test_corrupted_field_is_an_error_never_a_number(
    tr_id: str, faulty_sim: Callable[..., Any], make_config: Callable[..., KISConfig]
) -> None:
    """bad_field corrupts one numeric field of the first row. If the client maps that field it must raise
    KISPayloadError naming TR ID, symbol and field; if not, the mapped values must still be the truth."""
    fetch = {
        "FHKST03010100": "daily_prices",
        "FHPTJ04160001": "investor_trends",
        "FHPST04830000": "short_selling",
    }[tr_id]
    mapped = {f.source for f in ENDPOINTS[tr_id].fields}
    hits = 0
    with faulty_sim(f"bad_field@{tr_id}=1") as sim:
        config = make_config(sim)
        with KISClient.connect(config) as client:
            for symbol in sim.truth.symbols()[:8]:
                try:
                    ours = getattr(client, fetch)(symbol, START, END)
                except KISPayloadError as error:
                    ours, raised = None, error
                (record,) = sim.stats.requests(config.app_key.reveal(), tr_id)[-1:]
                field, _, how = record.fault_detail.partition(":")
                if field in mapped:
                    hits += 1
                    assert ours is None, f"{field} ({how}) was corrupted but a frame came back"
                    assert (raised.tr_id, raised.symbol, raised.field) == (tr_id, symbol, field)
                    assert ("missing" if how == "missing" else "not a") in raised.problem
                else:
                    truth = getattr(sim.truth, fetch)(START, END, [symbol])
                    columns = [c for c in ours.columns if c in truth.columns]  # not the check-only ones
                    pd.testing.assert_frame_equal(
                        ours[columns].reset_index(drop=True),
                        truth[columns].reset_index(drop=True),
                        check_dtype=False,
                    )
    assert hits >= 1
