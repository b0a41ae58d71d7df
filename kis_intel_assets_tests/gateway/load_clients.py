"""Three kinds of KIS client, each run in its own spawned process by the load test (importable by name).

Each keeps THREADS requests in flight until `stop` is set and reports what it saw: the wall-clock time of
every answered request, EGW00201 answers, other failures, and connection errors it retried (a gateway
restart shows up as those, never as a lost answer).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from kis_intel_assets.kis import KISClient, KISConfig, KISError, RetrySettings
from kis_intel_assets_tests.support.gateway import LOCAL_CLIENTS, PRICE_PATH, kis_headers

THREADS = 4
STARTS_EVERY = 10  # the restarting client starts afresh (new connection, new token) every 10 requests
# what a user sets so the client rides out a gateway restart of a few seconds
RESTART_TOLERANT = RetrySettings(max_attempts=30, backoff_base_seconds=0.2, backoff_cap_seconds=1.0)


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered: list[float] = []
        self.counts: Counter[str] = Counter()

    def add(self, outcome: str) -> None:
        with self.lock:
            if outcome == "ok":
                self.answered.append(time.time())
            else:
                self.counts[outcome] += 1

    def report(self, **extra: Any) -> dict[str, Any]:
        return {"answered": self.answered, "counts": dict(self.counts), **extra}


def _run_threads(worker: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _outcome(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return f"HTTP {reply.status_code} non-JSON"
    if reply.status_code == 200 and body.get("rt_cd") == "0":
        return "ok"
    return str(body.get("msg_cd") or body.get("error_code") or f"HTTP {reply.status_code}")


def _token(http: httpx.Client, name: str, tally: Tally) -> str:
    key, secret = LOCAL_CLIENTS[name]
    while True:
        try:
            reply = http.post(
                "/oauth2/tokenP",
                json={"grant_type": "client_credentials", "appkey": key, "appsecret": secret},
            )
        except httpx.TransportError:
            tally.add("connection_error")
            time.sleep(0.2)
            continue
        tally.add("token_request")
        return str(reply.json()["access_token"])


def _price(http: httpx.Client, name: str, token: str, symbol: str, tally: Tally) -> None:
    """One request, repeated after a connection error (it never reached a gateway that could answer)."""
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}
    while True:
        try:
            reply = http.get(PRICE_PATH, params=params, headers=kis_headers(name, token), timeout=30)
        except httpx.TransportError as exc:
            tally.add(f"retried {type(exc).__name__}")
            time.sleep(0.2)
            continue
        tally.add(_outcome(reply))
        return


def product_client(config: KISConfig, symbols: list[str], start: Any, stop: Any, results: Any) -> None:
    """kis-intel's own KISClient with the gateway as its base URL and local credentials."""
    tally = Tally()
    with KISClient.connect(config) as client:
        start.wait(timeout=120)

        def work(offset: int) -> None:
            n = offset
            while not stop.is_set():
                try:
                    client.current_price(symbols[n % len(symbols)])
                    tally.add("ok")
                except KISError as exc:
                    tally.add(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
                n += THREADS

        _run_threads(work)
        results.put(("bot", tally.report(client_metrics=client.metrics.snapshot())))


def httpx_loop(base_url: str, symbols: list[str], start: Any, stop: Any, results: Any) -> None:
    """A plain httpx loop: one token at start, then requests as fast as answers come."""
    tally = Tally()
    with httpx.Client(base_url=base_url) as http:
        token = _token(http, "notebook", tally)
        start.wait(timeout=120)

        def work(offset: int) -> None:
            n = offset
            while not stop.is_set():
                _price(http, "notebook", token, symbols[n % len(symbols)], tally)
                n += THREADS

        _run_threads(work)
    results.put(("notebook", tally.report()))


def restarting_client(base_url: str, symbols: list[str], start: Any, stop: Any, results: Any) -> None:
    """A tool that issues its own token on every start (the official samples do): a new connection and
    a new /oauth2/tokenP every STARTS_EVERY requests, per thread."""
    tally = Tally()
    start.wait(timeout=120)

    def work(offset: int) -> None:
        n = offset
        while not stop.is_set():
            with httpx.Client(base_url=base_url) as http:
                token = _token(http, "samples", tally)
                for _ in range(STARTS_EVERY):
                    if stop.is_set():
                        break
                    _price(http, "samples", token, symbols[n % len(symbols)], tally)
                    n += THREADS

    _run_threads(work)
    results.put(("samples", tally.report()))
