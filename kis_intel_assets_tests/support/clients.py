"""Client settings that keep tests short: retries and token re-issuance waits in tens of milliseconds
instead of the production seconds (the simulators allow a new token after 1 s)."""

from __future__ import annotations

from kis_intel_assets.kis import RetrySettings, TokenSettings

FAST_RETRY = RetrySettings(max_attempts=4, backoff_base_seconds=0.02, backoff_cap_seconds=0.2)
FAST_TOKEN = TokenSettings(issuance_retry_wait_seconds=0.4, issuance_max_attempts=6)
KIWOOM_FAST_TOKEN = TokenSettings(issuance_retry_wait_seconds=0.1, issuance_max_attempts=3)
