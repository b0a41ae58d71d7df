"""The pages domain's definitions: the dashboard pages as external assets. The root merges them."""

import dagster as dg

from kis_intel_assets.defs.pages.assets import page_specs

pages_defs = dg.Definitions(assets=[*page_specs])
