"""The analytics domain's definitions: the analytics assets, their checks and the sensor that runs them
when their upstream days land. The root merges them with the other domains."""

import dagster as dg

from kis_intel_assets.defs.analytics.assets import analytics_assets
from kis_intel_assets.defs.analytics.checks import analytics_checks
from kis_intel_assets.defs.automation import analytics_automation

analytics_defs = dg.Definitions(
    assets=[*analytics_assets],
    asset_checks=[*analytics_checks],
    sensors=[analytics_automation],
)
