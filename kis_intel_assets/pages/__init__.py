"""Web pages over the database: sector map, short-selling overheat dashboard, sector rotation (RRG).

`kis-intel serve` runs them (run_serve_cli); `page_url` builds links for asset metadata and alerts.
"""

from kis_intel_assets.page_links import page_url
from kis_intel_assets.pages.app import create_app
from kis_intel_assets.pages.cli import run_serve_cli, serving
from kis_intel_assets.settings import PAGES_URL_ENV

__all__ = ["PAGES_URL_ENV", "create_app", "page_url", "run_serve_cli", "serving"]
