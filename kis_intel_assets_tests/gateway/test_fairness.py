"""A client that floods the gateway cannot starve the others, and order TRs go ahead of quotations."""

from __future__ import annotations

import threading
import time

import httpx

from kis_intel_assets.simulator import Simulator
from kis_intel_assets_tests.support.gateway import (
    PRICE_PATH,
    PRICE_TR,
    GatewayFactory,
    client_token,
    kis_headers,
    metric,
)

FLOOD_THREADS = 24
QUIET_THREADS = 2
SECONDS = 4.0
ORDER_TR = "TTTC0802U"  # a cash buy order: in the default "order" priority class


def test_a_flooding_client_does_not_starve_a_quiet_one_and_orders_jump_the_queue(
    gateway_sim: Simulator, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_sim)
    tokens = {name: client_token(gateway.base_url, name) for name in ("notebook", "bot")}
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": gateway_sim.truth.symbols()[0]}
    served = {"notebook": 0, "bot": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def loop(name: str, tr_id: str) -> None:
        with httpx.Client(
            base_url=gateway.base_url, headers=kis_headers(name, tokens[name], tr_id), timeout=30
        ) as http:
            while time.monotonic() < deadline:
                reply = http.get(PRICE_PATH, params=params)
                assert reply.headers["tr_id"] == tr_id
                with lock:
                    served[name] += 1

    threads = [threading.Thread(target=loop, args=("notebook", PRICE_TR)) for _ in range(FLOOD_THREADS)]
    threads += [threading.Thread(target=loop, args=("bot", PRICE_TR)) for _ in range(QUIET_THREADS)]
    threads += [threading.Thread(target=loop, args=("bot", ORDER_TR))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    waits = {
        tr_id: metric(gateway, f'kis_gateway_queue_wait_seconds_sum{{client="{name}",tr_id="{tr_id}"}}')
        / metric(gateway, f'kis_gateway_queue_wait_seconds_count{{client="{name}",tr_id="{tr_id}"}}')
        for name, tr_id in (("notebook", PRICE_TR), ("bot", ORDER_TR))
    }
    print(f"\nserved in {SECONDS:g} s: {served}; mean queue wait {waits}")
    # FIFO would give the quiet client 3 of every 27 sends; round robin gives it every other one.
    assert served["bot"] >= 0.35 * sum(served.values())
    assert waits[ORDER_TR] < 0.3 * waits[PRICE_TR]
