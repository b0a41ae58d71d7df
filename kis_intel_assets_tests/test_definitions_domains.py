"""Each domain builds its own Definitions; the root merges them and in-process runs select from the same
domains, so a domain registered in one place and not the other is caught here."""

from __future__ import annotations

from pathlib import Path

from kis_intel_assets.definitions import defs
from kis_intel_assets.defs import selection


def test_in_process_runs_see_the_root_graph_without_importing_the_root() -> None:
    assets = [asset for domain in selection.GRAPH_DOMAINS for asset in domain.assets or []]
    checks = [check for domain in selection.GRAPH_DOMAINS for check in domain.asset_checks or []]
    assert assets == list(defs.assets or []) and len(assets) > 10
    assert checks == list(defs.asset_checks or []) and checks
    source = Path(selection.__file__).read_text(encoding="utf-8")
    assert "kis_intel_assets.definitions" not in source  # no cycle through the root, lazy or not
