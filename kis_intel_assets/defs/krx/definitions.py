"""The KRX data-portal domain's definitions: short balance and whole-market investor flows, the
KIS-vs-KRX reconciliation check and the 18:10 KST schedule (all inert unless KRX is configured).

The root (kis_intel_assets/definitions.py) merges them with the other domains and binds the resources.
"""

import dagster as dg

from kis_intel_assets.defs.krx.assets import krx_assets
from kis_intel_assets.defs.krx.checks import krx_checks
from kis_intel_assets.defs.krx.schedules import krx_daily_job, krx_daily_schedule

krx_defs = dg.Definitions(
    assets=[*krx_assets],
    asset_checks=[*krx_checks],
    jobs=[krx_daily_job],
    schedules=[krx_daily_schedule],
)
