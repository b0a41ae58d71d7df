"""Links into the dashboard pages (`kis-intel serve`): the one URL builder for Dagster metadata, alerts and
the pages' external assets."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from kis_intel_assets import settings

VIEWS = ("sectors", "overheat", "rotation")


def page_url(view: str, day: date | None = None, *, base_url: str | None = None) -> str:
    """URL of a view, for one trading day when `day` is given, under `base_url` (default
    KIS_INTEL_PAGES_URL, else the local server)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if base_url is None:
        base_url = settings.pages_url()
    url = f"{base_url.rstrip('/')}/{view}"
    return url if day is None else f"{url}?{urlencode({'date': day.isoformat()})}"
