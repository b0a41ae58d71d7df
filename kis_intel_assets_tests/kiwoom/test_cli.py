"""`kis-intel simulator-kiwoom` serves a Kiwoom simulator a client can use and refuses bad options clearly."""

from __future__ import annotations

import subprocess
import sys

import httpx

COMMAND = [sys.executable, "-m", "kis_intel_assets.cli", "simulator-kiwoom"]


def test_cli_serves_tokens_and_trs_on_the_printed_address():
    process = subprocess.Popen([*COMMAND, "--port", "0", "--symbols", "8"], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        base_url = line.rsplit(" ", 1)[-1].strip()
        assert line.startswith("Kiwoom simulator serving http://127.0.0.1:")
        body = {"grant_type": "client_credentials", "appkey": "cli-key", "secretkey": "cli-secret"}
        token = httpx.post(base_url + "/oauth2/token", json=body, timeout=10).json()
        assert token["return_code"] == 0 and len(token["expires_dt"]) == 14
        answer = httpx.post(
            base_url + "/api/dostk/stkinfo",
            json={"dt": "20240628", "mrkt_tp": "P00101", "stex_tp": "1"},
            timeout=10,
            headers={"api-id": "ka90004", "authorization": f"Bearer {token['token']}"},
        )
        assert answer.json()["return_code"] == 0 and answer.json()["stk_prm_trde_prst"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_names_a_bad_fault_kind():
    result = subprocess.run([*COMMAND, "--faults", "bogus=0.1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown Kiwoom fault kinds ['bogus']" in result.stderr


def test_cli_names_a_bad_limit_setting():
    result = subprocess.run(
        [*COMMAND, "--rate-limit-scope", "per_key", "--total-rate-limit", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "total_rate_limit_per_sec must be at least 1 or None, got 0.5" in result.stderr
