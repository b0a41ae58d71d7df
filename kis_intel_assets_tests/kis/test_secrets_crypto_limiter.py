"""Secrets stay redacted, stored tokens are unreadable without the app secret, and the shared GCRA
limiter hands out evenly spaced slots to concurrent users of one PostgreSQL row."""

from __future__ import annotations

import itertools
import logging
import pickle
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
    assert config.effective_rate_per_sec == pytest.approx(18.0)
    paper = KISConfig(app_key=APP_KEY, app_secret=APP_SECRET, database_url=DB_URL, paper=True)
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


def test_limiter_spaces_concurrent_reservations_evenly(database_url: str) -> None:
    """Two limiters (separate connections, as separate processes would have) share one row."""
    key_hash = app_key_hash(Secret(APP_KEY))
    limiters = [PostgresRateLimiter(database_url, key_hash, rate_per_sec=50.0) for _ in range(2)]
    slots: list[float] = []
    lock = threading.Lock()

    def reserve_many(limiter: PostgresRateLimiter) -> None:
        for _ in range(25):
            reservation = limiter.reserve()
            with lock:
                slots.append(reservation.slot)

    threads = [threading.Thread(target=reserve_many, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert len(slots) == 100
    assert min(gaps) == pytest.approx(0.02, abs=1e-6)  # exactly 1/50 s apart on the database clock
    assert slots[-1] - slots[0] == pytest.approx(99 * 0.02, abs=1e-4)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT key_hash FROM kis_rate_limit").fetchall()
    assert rows == [(key_hash,)]
    for limiter in limiters:
        limiter.close()


def test_limiter_acquire_sleeps_until_slot_and_never_bursts_after_idle(database_url: str) -> None:
    limiter = PostgresRateLimiter(database_url, app_key_hash(Secret(APP_KEY)), rate_per_sec=20.0)
    time.sleep(0.3)  # idle time must not bank a burst
    started = time.monotonic()
    waits = [limiter.acquire() for _ in range(6)]
    elapsed = time.monotonic() - started
    assert waits[0] == pytest.approx(0.0, abs=0.005)
    assert elapsed >= 5 * 0.05 - 0.01
    # The spacing comes from sleeping until each slot (not from bursting): on a loaded machine a slow
    # database round trip eats part of a slot, so only the total is asserted, not each wait.
    assert sum(waits[1:]) > 0.1
    limiter.close()
