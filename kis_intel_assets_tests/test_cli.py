"""`kis-intel` refuses a bad option with argparse's one usage line (exit 2) naming the option and the value,
before any server, simulator or database is started."""

from __future__ import annotations

import pytest

from kis_intel_assets.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dev", "--dagster-port", "0"], "--dagster-port: must be a TCP port 1-65535, got '0'"),
        (["dev", "--pages-port", "http"], "--pages-port: must be a TCP port 1-65535, got 'http'"),
        (["dev", "--simulator-port", "65536"], "--simulator-port: must be a TCP port 1-65535, got '65536'"),
        (["dev", "--symbols", "3"], "--symbols: must be a whole number from 4 to"),
        (["demo", "--rate-limit", "fast"], "--rate-limit: must be a number of requests/s above 0"),
        (["demo", "--rate-limit", "100.5"], "and at most 100, got '100.5'"),
        (["db"], "the following arguments are required: db_command"),
        ([], "the following arguments are required: command"),
    ],
)
def test_a_bad_option_is_one_usage_error(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert expected in error.strip().splitlines()[-1] and "Traceback" not in error
