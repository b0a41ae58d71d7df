"""`kis-intel gateway` refuses bad settings with one line naming what is wrong (and never a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kis_intel_assets.cli import main
from kis_intel_assets.gateway.config import load_clients_file
from kis_intel_assets_tests.support.gateway import clients_toml

REAL = {
    "KIS_APP_KEY": "real-key-value",
    "KIS_APP_SECRET": "real-secret-value",
    "KIS_INTEL_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
}


@pytest.mark.parametrize(
    ("environment", "arguments", "expected"),
    [
        ({}, [], "set KIS_APP_KEY, KIS_APP_SECRET"),
        (REAL, [], "--clients or KIS_GATEWAY_CLIENTS"),
        (REAL, ["--clients", "{missing}"], "No such file"),
        (REAL, ["--clients", "{bad_toml}"], "not valid TOML"),
        (REAL, ["--clients", "{no_secret}"], "entry 1 lacks ['app_secret']"),
        (REAL, ["--clients", "{same_key}"], "two clients share one app_key"),
        (
            {**REAL, "KIS_RATE_LIMIT_PER_SEC": "fast"},
            ["--clients", "{good}"],
            "KIS_RATE_LIMIT_PER_SEC='fast'",
        ),
        ({**REAL, "KIS_RATE_LIMIT_PER_SEC": "-3"}, ["--clients", "{good}"], "above 0 and at most 100"),
        (REAL, ["--clients", "{good}", "--port", "70000"], "--port must be within"),
    ],
)
def test_bad_settings_are_one_clear_line(
    environment: dict[str, str],
    arguments: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {
        "missing": tmp_path / "nope.toml",
        "bad_toml": tmp_path / "bad.toml",
        "no_secret": tmp_path / "no_secret.toml",
        "same_key": tmp_path / "same.toml",
        "good": clients_toml(tmp_path / "good.toml"),
    }
    files["bad_toml"].write_text("[[clients]\nname=", encoding="utf-8")
    files["no_secret"].write_text('[[clients]]\nname = "a"\napp_key = "k"\n', encoding="utf-8")
    files["same_key"].write_text(
        '[[clients]]\nname = "a"\napp_key = "k"\napp_secret = "s1"\n'
        '[[clients]]\nname = "b"\napp_key = "k"\napp_secret = "s2"\n',
        encoding="utf-8",
    )
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_GATEWAY_CLIENTS", "KIS_RATE_LIMIT_PER_SEC"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    code = main(["gateway", *(arg.format(**files) for arg in arguments)])

    error = capsys.readouterr().err
    assert code == 2
    assert expected in error and error.count("\n") == 1
    assert "real-secret-value" not in error and "real-key-value" not in error


def test_the_clients_file_sets_the_priority_classes(tmp_path: Path) -> None:
    path = clients_toml(tmp_path / "clients.toml")
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[priority]\norders = ["TTTC08*"]\nbalance = ["TTTC8434R"]\n',
        encoding="utf-8",
    )
    clients, priority = load_clients_file(path)
    assert [c.name for c in clients] == ["bot", "notebook", "samples"]
    assert priority is not None and [(p.name, p.tr_id_patterns) for p in priority] == [
        ("orders", ("TTTC08*",)),
        ("balance", ("TTTC8434R",)),
    ]
    assert "local-bot-secret" not in repr(clients)
