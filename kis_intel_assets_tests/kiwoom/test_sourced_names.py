"""Every Kiwoom name the client sends or reads (TR code, path, body key, list key, field) is written in
docs/kiwoom_api.md, where each carries its public source: a name that is not there was guessed."""

from __future__ import annotations

from pathlib import Path

from kis_intel_assets.kiwoom.endpoints import ENDPOINTS

DOC = (Path(__file__).resolve().parents[2] / "docs/kiwoom_api.md").read_text(encoding="utf-8")


def test_every_registered_name_is_in_the_sourced_doc():
    unsourced = [
        f"{e.api_id}: {name}"
        for e in ENDPOINTS.values()
        for name in (e.api_id, e.path, e.rows_key, *e.body, *(f.source for f in e.fields))
        if f"`{name}`" not in DOC and f" {name} " not in DOC
    ]
    assert unsourced == []
