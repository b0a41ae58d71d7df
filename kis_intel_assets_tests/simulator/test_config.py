"""A simulator setting outside what KIS does is refused when the simulator is configured, with the setting
and the value in the message (the `kis-intel simulator` options end here)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kis_intel_assets.simulator import SimulatorConfig
from kis_intel_assets.simulator.cli import run_simulator_cli


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"start": date(2025, 6, 2), "end": date(2025, 6, 1)}, "end 2025-06-01 is before start 2025-06-02"),
        ({"new_key_rate_limit_per_sec": 0.5}, "new_key_rate_limit_per_sec must be from 1 to 100, got 0.5"),
        ({"rate_limit_style": "429"}, "rate_limit_style must be one of"),
        ({"time_limit_scope": "never"}, "time_limit_scope must be one of ('all', 'today'), got 'never'"),
        ({"history_limit_form": "wrap"}, "history_limit_form must be one of"),
        ({"no_data_form": "null"}, "no_data_form must be one of"),
        ({"page_size": 0}, "page sizes must be >= 1, got 0"),
        ({"page_sizes": {"FHKST03010100": 0}}, "page sizes must be >= 1"),
        ({"paging_style": "cursor"}, "paging_style must be one of"),
    ],
)
def test_a_setting_outside_its_range_is_refused_naming_it(settings: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError) as raised:
        SimulatorConfig(**{"n_symbols": 8, **settings})
    assert expected in str(raised.value)


def test_the_cli_names_a_bad_new_key_rate_and_clock(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_simulator_cli(["--new-key-rate", "200"]) == 2
    assert run_simulator_cli(["--time-offset", "soon"]) == 2
    assert run_simulator_cli(["--now", "yesterday"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "kis-intel simulator: error: new_key_rate_limit_per_sec must be from 1 to 100, got 200.0",
        "kis-intel simulator: error: --time-offset must look like -2h30m, 3d or +15m, got 'soon'",
        "kis-intel simulator: error: --now must be an ISO date-time like 2025-06-30T15:00, got 'yesterday'",
    ]
