"""A new customer's key (KIS holds it to about 3/s for its first days; the simulator's `new_key` switch):
under sustained EGW00201 the client lowers the key's budget in PostgreSQL for every process, says so once,
fails no call, and the budget recovers slowly once KIS stops refusing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import psycopg
import pytest

from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.ratelimit import RECOVER_EVERY_SECONDS
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets_tests.support.kis_market import END, sim_config

NEW_KEY_RATE = 5  # the real figure is about 3/s; 5 keeps the test short and is just as far below 20
START = END.replace(month=1, day=2)


def test_a_throttled_new_key_lowers_the_shared_budget_and_no_call_fails(
    make_config: Callable[..., KISConfig], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from kis_intel_assets.simulator import running_simulator

    with running_simulator(sim_config(new_key_rate_limit_per_sec=NEW_KEY_RATE)) as sim:
        config = make_config(sim)  # a 20/s budget, as for an established real account
        symbols = sim.truth.symbols()
        with (
            caplog.at_level(logging.WARNING),
            KISClient.connect(config) as client,
            ThreadPoolExecutor(4) as pool,
        ):
            frames = list(pool.map(lambda s: client.short_selling(s, START, END), symbols * 2))
            metrics = client.metrics.snapshot()
        with KISSession(config) as other_process:  # shares the key: starts at the lowered budget
            KISClient(other_process).short_selling(symbols[0], START, END)
            inherited = other_process._limiter.budget_in_force
        served = sim.stats.requests(config.app_key.reveal())

    truth = sim.truth.short_selling(START, END, symbols)
    ours = pd.concat(frames[: len(symbols)]).sort_values(["symbol", "time"]).reset_index(drop=True)
    assert len(ours) == len(truth) and sum(map(len, frames)) == 2 * len(truth)
    with psycopg.connect(database_url) as conn:
        (budget,) = conn.execute("SELECT budget FROM kis_rate_limit").fetchone()  # type: ignore[misc]
    refused = [r for r in served if r.msg_cd == "EGW00201"]
    print(
        f"\nnew key at {NEW_KEY_RATE}/s: budget 20/s -> {budget:.2f}/s "
        f"({metrics['rate_limit_budget_changes']}), {len(refused)} of {len(served)} requests refused"
    )
    assert 1.0 <= budget <= NEW_KEY_RATE
    assert inherited == pytest.approx(budget, rel=0.01)
    assert metrics["rate_limit_budget_changes"][0] == "20/s -> 10/s"  # halved while KIS keeps refusing
    assert caplog.text.count("KIS is throttling this app key") == 1  # said once, however many lowerings
    assert refused and not [r for r in served[-10:] if r.msg_cd == "EGW00201"]  # adapted: the tail is clean

    with psycopg.connect(database_url, autocommit=True) as conn:  # a quiet minute later: one recovery step
        conn.execute(
            "UPDATE kis_rate_limit SET changed_at = changed_at - %(s)s, throttled_at = throttled_at - %(s)s",
            {"s": RECOVER_EVERY_SECONDS + 1},
        )
    with KISSession(config) as later:
        claim = later._limiter.claim()
        assert claim is not None
        assert later._limiter.budget_in_force == pytest.approx(max(budget * 1.1, budget + 0.5))
