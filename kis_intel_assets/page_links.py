"""Links into the dashboard pages (`kis-intel serve`), shared by Dagster metadata, alerts and the pages."""

from __future__ import annotations

import os
from datetime import date

PAGES_URL_ENV = "KIS_INTEL_PAGES_URL"
DEFAULT_PAGES_URL = "http://127.0.0.1:8050"
VIEWS = ("sectors", "overheat", "rotation")


def page_url(view: str, day: date) -> str:
    """URL of a view for one trading day, under KIS_INTEL_PAGES_URL (default the local server)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    base = os.environ.get(PAGES_URL_ENV, "").strip().rstrip("/") or DEFAULT_PAGES_URL
    return f"{base}/{view}?date={day.isoformat()}"
