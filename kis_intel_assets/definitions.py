"""The one Definitions object of kis-intel: each domain's definitions (ingest, krx, analytics, pages, alerts;
`defs/<domain>/definitions.py`) merged, with the resources they share bound here once."""

from __future__ import annotations

import dagster as dg

# The domain modules, not their Definitions objects: Dagster's loader refuses a module that holds more than
# one Definitions at its top level.
from kis_intel_assets.defs.alerts import definitions as alerts
from kis_intel_assets.defs.analytics import definitions as analytics
from kis_intel_assets.defs.ingest import definitions as ingest
from kis_intel_assets.defs.krx import definitions as krx_portal
from kis_intel_assets.defs.krx.resources import krx_resource_from_env
from kis_intel_assets.defs.pages import definitions as pages
from kis_intel_assets.defs.resources import database_resource_from_env, kis_resource_from_env

# Secrets (the database URL included) go through EnvVar (resolved at launch, shown by name only); plain
# settings are read from kis_intel_assets.settings when the definitions load.
database = database_resource_from_env()
# The optional KRX portal (README "KRX data portal"): off unless KRX_ID and KRX_PW are set.
krx = krx_resource_from_env()

defs = dg.Definitions.merge(
    ingest.ingest_defs,
    krx_portal.krx_defs,
    analytics.analytics_defs,
    pages.pages_defs,
    alerts.alerts_defs,
    dg.Definitions(resources={"database": database, "krx": krx, "kis": kis_resource_from_env(database, krx)}),
)
