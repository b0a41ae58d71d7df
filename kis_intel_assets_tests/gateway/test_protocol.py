"""The gateway speaks KIS: tokens from the shared store, requests and replies unchanged, strangers refused."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from typing import Any

import dagster as dg
import httpx
import pandas as pd
import psycopg

from kis_intel_assets.defs.ingest.assets import stock_universe
from kis_intel_assets.defs.resources import resources_against
from kis_intel_assets.gateway.fair_queue import FairQueue, LaneFull
from kis_intel_assets.kis import KISClient, KISConfig
from kis_intel_assets.simulator import Simulator
from kis_intel_assets.simulator.faults import FaultSpec
from kis_intel_assets_tests.support.clients import FAST_RETRY, FAST_TOKEN
from kis_intel_assets_tests.support.gateway import (
    LOCAL_CLIENTS,
    PRICE_PATH,
    PRICE_TR,
    REAL_SECRET,
    GatewayFactory,
    client_token,
    kis_headers,
    metric,
)


def test_tokens_come_from_the_shared_store_across_clients_and_restarts(
    gateway_sim: Simulator, gateway_factory: GatewayFactory, real_key: str
) -> None:
    first = gateway_factory(gateway_sim)
    tokens = {name: {client_token(first.base_url, name) for _ in range(4)} for name in LOCAL_CLIENTS}
    assert all(len(issued) == 1 for issued in tokens.values())  # the same token again, as KIS does
    assert len({next(iter(issued)) for issued in tokens.values()}) == 3  # one per client
    restarted = gateway_factory(gateway_sim)  # a new process on the same database
    assert client_token(restarted.base_url, "bot") in tokens["bot"]
    symbol = gateway_sim.truth.symbols()[0]
    reply = httpx.get(
        restarted.base_url + PRICE_PATH,
        params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        headers=kis_headers("bot", next(iter(tokens["bot"]))),
    )
    assert reply.status_code == 200 and reply.json()["rt_cd"] == "0"

    assert gateway_sim.stats.token_issuances(real_key) == 1
    assert all(gateway_sim.stats.token_issuances(key) == 0 for key, _ in LOCAL_CLIENTS.values())
    assert metric(first, "kis_gateway_token_issuances_total") == 1
    assert metric(restarted, "kis_gateway_token_issuances_total") == 0
    assert metric(first, 'kis_gateway_client_tokens_total{client="bot"}') == 4
    revoked = httpx.post(
        first.base_url + "/oauth2/revokeP",
        json={"appkey": LOCAL_CLIENTS["bot"][0], "appsecret": LOCAL_CLIENTS["bot"][1], "token": "x"},
    )
    assert revoked.status_code == 200
    assert client_token(first.base_url, "bot") in tokens["bot"]  # the shared token was kept


def test_requests_and_replies_pass_through_unchanged(
    gateway_sim: Simulator, gateway_factory: GatewayFactory, real_key: str
) -> None:
    gateway = gateway_factory(gateway_sim)
    token = client_token(gateway.base_url, "notebook")
    real_token = gateway.upstream.token().value.reveal()
    direct_headers = {**kis_headers("notebook", real_token), "appkey": real_key, "appsecret": REAL_SECRET}
    symbol = gateway_sim.truth.symbols()[1]
    cases = [
        {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},  # success
        {"FID_COND_MRKT_DIV_CODE": "Q", "FID_INPUT_ISCD": symbol},  # KIS error: HTTP 500, OPSQ2001
    ]
    for params in cases:
        direct = httpx.get(gateway_sim.base_url + PRICE_PATH, params=params, headers=direct_headers)
        through = httpx.get(
            gateway.base_url + PRICE_PATH, params=params, headers=kis_headers("notebook", token)
        )
        assert through.status_code == direct.status_code
        assert through.content == direct.content
        assert [name for name, _ in through.headers.raw] == [name for name, _ in direct.headers.raw]
        assert (
            through.headers["tr_id"] == PRICE_TR and through.headers["tr_cont"] == direct.headers["tr_cont"]
        )
        assert len(through.headers["gt_uid"]) == 32
        assert REAL_SECRET not in through.text and real_token not in through.text
    assert direct.status_code == 500 and direct.json()["msg_cd"] == "OPSQ2001"  # the error case really failed
    # The simulator has no websocket approval endpoint: its answer to the gateway's request comes back as is.
    approval = {"grant_type": "client_credentials", "appkey": real_key, "secretkey": REAL_SECRET}
    direct = httpx.post(gateway_sim.base_url + "/oauth2/Approval", json=approval)
    key, secret = LOCAL_CLIENTS["notebook"]
    through = httpx.post(
        gateway.base_url + "/oauth2/Approval", json={**approval, "appkey": key, "secretkey": secret}
    )
    assert (
        (through.status_code, through.content) == (direct.status_code, direct.content) == (404, b"Not Found")
    )
    # Local answers are spelled the way KIS spells them (the official samples skip capitalised names).
    assert [
        name
        for name, _ in httpx.post(
            gateway.base_url + "/oauth2/tokenP",
            json={
                "grant_type": "client_credentials",
                "appkey": LOCAL_CLIENTS["bot"][0],
                "appsecret": LOCAL_CLIENTS["bot"][1],
            },
        ).headers.raw
    ] == [b"Content-Type", b"Content-Length"]
    assert (
        metric(gateway, f'kis_gateway_requests_total{{client="notebook",status="500",tr_id="{PRICE_TR}"}}')
        == 1
    )
    assert (
        metric(gateway, f'kis_gateway_upstream_latency_seconds_count{{client="notebook",tr_id="{PRICE_TR}"}}')
        == 2
    )


def test_the_product_client_pages_through_the_gateway_like_direct(
    gateway_sim: Simulator, gateway_factory: GatewayFactory, real_key: str, database_url: str
) -> None:
    gateway = gateway_factory(gateway_sim)
    key, secret = LOCAL_CLIENTS["bot"]
    start, end = dt.date(2024, 1, 2), dt.date(2025, 3, 31)
    local = KISConfig(
        app_key=key, app_secret=secret, database_url=database_url, base_url=gateway.base_url, retry=FAST_RETRY
    )
    direct = KISConfig(
        app_key=real_key,
        app_secret=REAL_SECRET,
        database_url=database_url,
        base_url=gateway_sim.base_url,
        retry=FAST_RETRY,
    )
    with KISClient.connect(local) as via_gateway, KISClient.connect(direct) as straight:
        params, key = {"FID_INPUT_ISCD": "0001", "FID_INPUT_DATE_1": f"{end:%Y%m%d}"}, ("sector_code", "0001")
        through = via_gateway.range_frame("FHPUP02120000", params, key, start, end)
        expected = straight.range_frame("FHPUP02120000", params, key, start, end)
    pd.testing.assert_frame_equal(through, expected)
    pages = [r for r in gateway_sim.stats.requests(real_key) if r.tr_id == "FHPUP02120000"]
    assert len(pages) >= 6 and sum(r.tr_cont == "M" for r in pages) >= 4  # tr_cont both ways, both runs
    assert gateway_sim.stats.token_issuances(real_key) == 1  # gateway and direct client share the token


def test_unknown_credentials_are_refused_and_nothing_is_forwarded(
    gateway_sim: Simulator, gateway_factory: GatewayFactory, real_key: str
) -> None:
    gateway = gateway_factory(gateway_sim)
    before = len(gateway_sim.stats.requests())
    key = LOCAL_CLIENTS["bot"][0]
    refused = httpx.post(
        gateway.base_url + "/oauth2/tokenP",
        json={"grant_type": "client_credentials", "appkey": key, "appsecret": "wrong"},
    )
    assert refused.status_code == 403 and refused.json()["error_code"] == "EGW00103"
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": gateway_sim.truth.symbols()[0]}
    stranger = {**kis_headers("bot", "whatever"), "appkey": "someone-else", "appsecret": "x"}
    for headers in (
        stranger,
        {**kis_headers("bot", "x"), "appsecret": "wrong"},
        {**kis_headers("bot", "x"), "appkey": real_key, "appsecret": REAL_SECRET},
    ):
        reply = httpx.get(gateway.base_url + PRICE_PATH, params=params, headers=headers)
        assert reply.status_code == 403
        assert reply.json() == {"rt_cd": "1", "msg_cd": "EGW00103", "msg1": reply.json()["msg1"]}
        assert reply.headers["tr_id"] == PRICE_TR
    other_clients_token = client_token(gateway.base_url, "notebook")
    forged = httpx.get(
        gateway.base_url + PRICE_PATH, params=params, headers=kis_headers("bot", other_clients_token)
    )
    assert forged.status_code == 500 and forged.json()["msg_cd"] == "EGW00121"

    approval = {"grant_type": "client_credentials", "appkey": key, "secretkey": "wrong"}
    refused = httpx.post(gateway.base_url + "/oauth2/Approval", json=approval)
    assert refused.status_code == 403 and refused.json()["error_code"] == "EGW00103"

    assert len(gateway_sim.stats.requests()) == before  # nothing was forwarded
    assert metric(gateway, 'kis_gateway_refused_total{reason="unknown_client"}') == 5
    assert metric(gateway, 'kis_gateway_refused_total{reason="token"}') == 1


def test_egw00201_from_upstream_is_retried_inside_the_gateway(
    simulator_factory: Any, gateway_factory: GatewayFactory, real_key: str
) -> None:
    faults = FaultSpec.parse("egw00201_500=0.25,egw00201_200=0.15", seed=3)
    sim = simulator_factory(faults=faults)
    gateway = gateway_factory(sim)
    token = client_token(gateway.base_url, "samples")
    symbols = sim.truth.symbols()
    replies: list[httpx.Response] = []

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=gateway.base_url, headers=kis_headers("samples", token)) as http:
            for n in range(10):
                replies.append(
                    http.get(
                        PRICE_PATH,
                        params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbols[(offset + n) % 40]},
                    )
                )

    threads = [threading.Thread(target=client_loop, args=(n * 10,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(replies) == 30
    assert all(r.status_code == 200 and r.json()["rt_cd"] == "0" for r in replies)
    upstream_egw = [r for r in sim.stats.requests(real_key) if r.msg_cd == "EGW00201"]
    assert len(upstream_egw) >= 5
    assert metric(gateway, "kis_gateway_egw00201_total") == len(upstream_egw)
    assert metric(gateway, 'kis_gateway_retries_total{client="samples"') == len(upstream_egw)


def test_an_expired_real_token_is_refreshed_once_for_every_client(
    simulator_factory: Any, gateway_factory: GatewayFactory, real_key: str
) -> None:
    sim = simulator_factory(token_min_interval_seconds=1.0)
    gateway = gateway_factory(sim, kis_settings={"token": FAST_TOKEN})
    token = client_token(gateway.base_url, "bot")
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": sim.truth.symbols()[0]}
    assert httpx.get(
        gateway.base_url + PRICE_PATH, params=params, headers=kis_headers("bot", token)
    ).is_success
    assert sim.expire_tokens(real_key) == 1
    again = httpx.get(
        gateway.base_url + PRICE_PATH, params=params, headers=kis_headers("bot", token), timeout=30
    )
    assert again.status_code == 200 and again.json()["rt_cd"] == "0"
    assert sim.stats.token_issuances(real_key) == 2
    assert [r.msg_cd for r in sim.stats.requests(real_key)].count("EGW00123") == 1


def test_fair_queue_round_robins_clients_and_serves_priority_classes_first() -> None:
    queue: FairQueue[str] = FairQueue(classes=2, max_per_client=50)
    for n in range(50):
        queue.put("flooder", 1, f"flooder-{n}")
    queue.put("quiet", 1, "quiet-0")
    queue.put("quiet", 1, "quiet-1")
    queue.put("bot", 0, "bot-order")
    try:
        queue.put("flooder", 1, "one too many")
        raise AssertionError("the flooder's lane should be full")
    except LaneFull:
        pass
    order = []
    while queue.reserve(timeout=0):
        order.append(queue.pop())
    assert order[:5] == ["bot-order", "flooder-0", "quiet-0", "flooder-1", "quiet-1"]
    assert order[5:] == [f"flooder-{n}" for n in range(2, 50)]
    assert queue.depth() == [0, 0]


def test_a_dagster_run_can_go_through_the_gateway_with_local_credentials(
    gateway_sim: Simulator, gateway_factory: GatewayFactory, real_key: str, database_url: str
) -> None:
    gateway = gateway_factory(gateway_sim)
    key, secret = LOCAL_CLIENTS["bot"]
    resources = resources_against(
        gateway.base_url, database_url, key, secret, master_base_url=gateway_sim.master_base_url
    )
    assert dg.materialize([stock_universe], resources=resources).success

    with psycopg.connect(database_url) as conn:
        listed = conn.execute("SELECT count(DISTINCT symbol) FROM stock_master").fetchone()[0]
    info_calls = [r for r in gateway_sim.stats.requests(real_key) if r.tr_id == "CTPF1002R"]
    assert listed == len(info_calls) > 0
    assert gateway_sim.stats.requests(key) == []  # upstream only ever saw the real key
    assert (
        metric(gateway, 'kis_gateway_requests_total{client="bot",status="200",tr_id="CTPF1002R"}') == listed
    )


def test_a_request_target_that_is_not_a_path_never_leaves_for_another_host(
    gateway_sim: Simulator, gateway_factory: GatewayFactory
) -> None:
    """`base_url + "@evil/x"` would make the KIS host the userinfo of another host: never sent."""
    gateway = gateway_factory(gateway_sim)
    token = client_token(gateway.base_url, "bot")
    before = len(gateway_sim.stats.requests())
    host, port = gateway.base_url.removeprefix("http://").split(":")
    headers = "".join(f"{name}: {value}\r\n" for name, value in kis_headers("bot", token).items())
    for target in (f"@{host}:9/uapi/x", f"http://{host}:9/uapi/x"):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n".encode()
            )
            status_line = sock.makefile("rb").readline()
        assert status_line.split()[1] in (b"400", b"404"), status_line
    assert len(gateway_sim.stats.requests()) == before
