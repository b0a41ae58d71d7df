"""Several app keys through one client: calls spread over the keys, each key keeps its own token and
budget, results equal a single client's, and the Dagster resource builds the pool from its extra keys."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
import pytest

from kis_intel_assets.defs.ingest.assets import DAILY_PRICES
from kis_intel_assets.defs.ingest.collect import fetch_dataset
from kis_intel_assets.defs.resources import DatabaseResource, KISResource
from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.kis.pool import KISSessionPool
from kis_intel_assets.kis.session import KISSession

START, END = date(2025, 2, 3), date(2025, 2, 28)


MakeConfig = Callable[..., KISConfig]


def key_configs(make_config: MakeConfig, server: Any, count: int, **overrides: Any) -> list[KISConfig]:
    base = make_config(server, **overrides)
    return [
        replace(base, app_key=f"PSpool{uuid.uuid4().hex}", app_secret=f"pool-secret-{n}")
        for n in range(count)
    ]


def test_calls_spread_over_every_key_and_match_a_single_client(sim: Any, make_config: MakeConfig) -> None:
    symbols = sim.truth.symbols()
    configs = key_configs(make_config, sim, 3)
    with KISClient.connect(*configs) as pool, ThreadPoolExecutor(6) as threads:
        frames = list(threads.map(lambda s: pool.daily_prices(s, START, END), symbols))
        metrics = pool.metrics.snapshot()
    with KISClient.connect(make_config(sim)) as single:
        expected = [single.daily_prices(s, START, END) for s in symbols]

    for got, want in zip(frames, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    served = Counter(r.key for config in configs for r in sim.stats.requests(config.app_key.reveal()))
    assert len(served) == 3 and min(served.values()) >= len(symbols) // 3 - 2, served
    assert metrics["keys"] == 3 and metrics["requests"] == sum(served.values()) == len(symbols)
    assert sorted(metrics["requests_by_key"]) == sorted(served.values())
    assert [sim.stats.token_issuances(c.app_key.reveal()) for c in configs] == [1, 1, 1]


def test_throughput_grows_with_the_number_of_keys(sim: Any, make_config: MakeConfig) -> None:
    rate, calls = 10.0, 40  # per-key budget far below the simulator's, so the client's pacing is what counts
    symbols = sim.truth.symbols()
    configs = key_configs(make_config, sim, 2, rate_limit_per_sec=rate)
    with KISClient.connect(*configs) as pool, ThreadPoolExecutor(4) as threads:
        pool.current_price(symbols[0])  # tokens and connections first, outside the timing
        pool.current_price(symbols[1])
        started = time.monotonic()
        list(threads.map(lambda i: pool.current_price(symbols[i % len(symbols)]), range(calls)))
        elapsed = time.monotonic() - started
    one_key_floor = calls / (rate * configs[0].rate_limit_safety)
    assert elapsed < 0.8 * one_key_floor, f"2 keys took {elapsed:.2f}s; 1 key needs ≥ {one_key_floor:.2f}s"


def test_repeated_keys_are_refused_without_showing_them(sim: Any, make_config: MakeConfig) -> None:
    config = make_config(sim)
    with pytest.raises(ValueError, match="app key #2 repeats app key #1") as raised:
        KISSessionPool([config, replace(config, app_secret="another-secret")])
    assert config.app_key.reveal() not in str(raised.value)


def test_resource_returns_a_pool_only_with_extra_keys(sim: Any, database_url: str) -> None:
    def resource(**extra: str) -> KISResource:
        return KISResource(
            app_key=f"PSres{uuid.uuid4().hex}",
            app_secret="resource-secret",
            database=DatabaseResource(url=database_url),
            base_url=sim.base_url,
            master_base_url=sim.master_base_url,
            rate_limit_per_sec=20.0,
            **extra,
        )

    with resource().client() as client:
        assert isinstance(client, KISClient) and isinstance(client.transport, KISSession)
    extra_keys = f"PSx{uuid.uuid4().hex}, PSy{uuid.uuid4().hex}"
    with resource(extra_app_keys=extra_keys, extra_app_secrets="sx,sy").client() as client:
        assert isinstance(client.transport, KISSessionPool) and len(client.transport.sessions) == 3
        assert client.stock_info(sim.truth.symbols()[0]).listed_shares > 0
    mismatched = resource(extra_app_keys=extra_keys, extra_app_secrets="sx")
    with (
        pytest.raises(ValueError, match="2 extra app key\\(s\\) but 1 extra app secret") as raised,
        mismatched.client(),
    ):
        pass
    assert "PSx" not in str(raised.value)
    blank = resource(extra_app_keys=extra_keys, extra_app_secrets="sx, ")
    with pytest.raises(ValueError, match="extra_app_secrets: entry 2 of 2 is blank"), blank.client():
        pass


def test_an_ingest_fetch_over_several_keys_equals_one_over_a_single_key(
    sim: Any, make_config: MakeConfig
) -> None:
    """The ingest path reads the client's server clock and unserved days: the same over a pool."""
    symbols = sim.truth.symbols()[:4]
    with KISClient.connect(*key_configs(make_config, sim, 2)) as pool:
        pooled = fetch_dataset(pool, DAILY_PRICES, symbols, START, END, workers=4)
    with KISClient.connect(make_config(sim)) as single:
        expected = fetch_dataset(single, DAILY_PRICES, symbols, START, END, workers=4)
    by_day = ["symbol", "time"]
    pd.testing.assert_frame_equal(
        pooled.sort_values(by_day, ignore_index=True), expected.sort_values(by_day, ignore_index=True)
    )
    assert len(pooled) > 0
