"""Secrets stay redacted, stored tokens are unreadable without the app secret, and the shared limiter
spaces concurrent users of one key evenly and never lets a 1-second window hold more than its slots."""

from __future__ import annotations

import itertools
import logging
import pickle
import random
import threading
import time

import psycopg
import pytest

from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.ratelimit import PostgresRateLimiter
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.tokens import TokenCipher, app_key_hash

APP_KEY = "PSk3yAppKeyValue0123456789"
APP_SECRET = "s3cr3t-app-secret-value-abcdefghijklmnopqrstuvwxyz"
DB_URL = "postgresql://postgres:dbpassw0rd@127.0.0.1:5432/kis"


def test_secret_is_redacted_everywhere_but_reveal(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(APP_SECRET)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>10}", repr([secret])):
        assert APP_SECRET not in text and "***" in text
    assert secret.reveal() == APP_SECRET
    assert secret == Secret(APP_SECRET) and secret != Secret("other")
    assert pickle.loads(pickle.dumps(secret)).reveal() == APP_SECRET
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("kis-test").warning("secret=%s %r", secret, secret)
    assert APP_SECRET not in caplog.text
    with pytest.raises(ValueError):
        Secret("")


def test_config_repr_and_errors_hide_credentials() -> None:
    config = KISConfig(app_key=APP_KEY, app_secret=APP_SECRET, database_url=DB_URL, base_url="http://x")
    text = repr(config) + str(config)
    for value in (APP_KEY, APP_SECRET, "dbpassw0rd"):
        assert value not in text
    assert config.effective_rate_per_sec == pytest.approx(20.0)
    paper = KISConfig(
        app_key=APP_KEY, app_secret=APP_SECRET, database_url=DB_URL, paper=True, rate_limit_safety=0.9
    )
    assert paper.effective_rate_per_sec == pytest.approx(1.8)
    with pytest.raises(ValueError, match="rate_limit_safety"):
        KISConfig(app_key=APP_KEY, app_secret=APP_SECRET, database_url=DB_URL, rate_limit_safety=1.5)


def test_token_cipher_round_trip_and_binding() -> None:
    key_hash = app_key_hash(Secret(APP_KEY))
    assert APP_KEY not in key_hash and len(key_hash) == 64
    cipher = TokenCipher(Secret(APP_SECRET), key_hash)
    token = Secret("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.token-body")
    nonce, ciphertext = cipher.encrypt(token)
    assert b"token-body" not in ciphertext
    assert cipher.decrypt(nonce, ciphertext) == token
    assert cipher.encrypt(token)[1] != ciphertext  # fresh nonce each time
    assert TokenCipher(Secret("rotated-secret"), key_hash).decrypt(nonce, ciphertext) is None
    other_key = app_key_hash(Secret("another-app-key"))
    assert TokenCipher(Secret(APP_SECRET), other_key).decrypt(nonce, ciphertext) is None
    assert "***" in repr(cipher)


def test_limiter_spaces_concurrent_claims_evenly(database_url: str) -> None:
    """Two limiters (separate connections, as separate processes would have) share one key's rows."""
    key_hash = app_key_hash(Secret(APP_KEY))
    limiters = [PostgresRateLimiter(database_url, key_hash, requests_per_window=50) for _ in range(2)]
    starts: list[float] = []
    lock = threading.Lock()

    def claim_many(limiter: PostgresRateLimiter) -> None:
        for _ in range(10):
            claim = limiter.claim()
            assert claim is not None
            with lock:
                starts.append(claim.start)
            limiter.release(claim)

    threads = [threading.Thread(target=claim_many, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 40  # fewer than the 50 slots, so the spacing alone decides
    assert min(gaps) == pytest.approx(0.02, abs=1e-6)  # exactly 1/50 s apart on the database clock
    assert starts[-1] - starts[0] == pytest.approx(39 * 0.02, abs=1e-4)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT key_hash FROM kis_rate_limit").fetchall() == [(key_hash,)]
        assert conn.execute("SELECT count(*) FROM kis_rate_limit_slot").fetchone() == (50,)
    for limiter in limiters:
        limiter.close()


def test_no_window_can_hold_more_arrivals_than_slots_whatever_the_latency(database_url: str) -> None:
    """Each turn's request may reach the server any time between its send and its reply. Check the worst
    case: no N + 1 turns whose [send, reply] intervals all fit in one 1-second window."""
    key_hash = app_key_hash(Secret(APP_KEY))
    slots = 4
    limiters = [PostgresRateLimiter(database_url, key_hash, requests_per_window=slots) for _ in range(2)]
    turns: list[tuple[float, float]] = []
    lock = threading.Lock()
    rng = random.Random(7)

    def request_many(limiter: PostgresRateLimiter) -> None:
        for _ in range(5):
            with limiter.turn():
                sent = time.time()
                time.sleep(rng.uniform(0.0, 0.15))  # a slow, jittery network and server
                replied = time.time()
            with lock:
                turns.append((sent, replied))

    threads = [threading.Thread(target=request_many, args=(lim,)) for lim in limiters for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(turns) == 30
    for _, earliest_reply in turns:
        fits = [t for t in turns if t[1] >= earliest_reply and t[0] < earliest_reply + 1.0]
        assert len(fits) <= slots, sorted(fits)
    first_send = min(sent for sent, _ in turns)
    last_send = max(sent for sent, _ in turns)
    # 30 requests through 4 slots: at least 6 full windows, and not much more than one turn per slot-second.
    assert 6.0 <= last_send - first_send < 30 / slots * 1.15 + 1.0
    for limiter in limiters:
        limiter.close()


def test_heartbeat_keeps_a_live_lease_and_a_dead_holders_slot_comes_back_when_it_ends(
    database_url: str,
) -> None:
    key_hash = app_key_hash(Secret(APP_KEY))
    lease = {"lease_seconds": 1.5, "heartbeat_seconds": 0.2}
    holder = PostgresRateLimiter(database_url, key_hash, requests_per_window=1, **lease)
    other = PostgresRateLimiter(database_url, key_hash, requests_per_window=1, **lease)
    stranded = holder.claim()
    assert stranded is not None
    time.sleep(2.0)  # longer than the lease: only the holder's heartbeat keeps the slot
    assert other.claim() is None
    holder.close()  # the holder dies: no release, no more heartbeats
    died = time.monotonic()
    while (reclaimed := other.claim()) is None:
        time.sleep(0.02)
    assert time.monotonic() - died <= 1.5 + 0.3
    assert reclaimed.slot == stranded.slot
    holder.release(stranded)  # a late release of the dead claim must not free the new one
    assert other.claim() is None
    other.release(reclaimed)
    after_release = other.claim()
    assert after_release is not None and after_release.wait >= 0.99  # one window after the release
    other.close()


def test_limiter_turn_sleeps_until_slot_and_never_bursts_after_idle(database_url: str) -> None:
    limiter = PostgresRateLimiter(database_url, app_key_hash(Secret(APP_KEY)), requests_per_window=20)
    time.sleep(0.3)  # idle time must not bank a burst
    started = time.monotonic()
    waits = []
    for _ in range(6):
        with limiter.turn() as waited:
            waits.append(waited)
    elapsed = time.monotonic() - started
    assert waits[0] == pytest.approx(0.0, abs=0.005)
    assert elapsed >= 5 * 0.05 - 0.01
    # The spacing comes from sleeping until each slot (not from bursting): on a loaded machine a slow
    # database round trip eats part of a slot, so only the total is asserted, not each wait.
    assert sum(waits[1:]) > 0.1
    limiter.close()
