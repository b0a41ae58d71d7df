"""The one Definitions object of kis-intel: each domain's definitions (ingest, analytics, pages, alerts;
`defs/<domain>/definitions.py`) merged, with the resources they share bound here once."""

from __future__ import annotations

import dagster as dg

from kis_intel_assets.defs.alerts.definitions import alerts_defs
from kis_intel_assets.defs.analytics.definitions import analytics_defs
from kis_intel_assets.defs.ingest.definitions import ingest_defs
from kis_intel_assets.defs.pages.definitions import pages_defs
from kis_intel_assets.defs.resources import database_resource_from_env, kis_resource_from_env

# Secrets (the database URL included) go through EnvVar (resolved at launch, shown by name only); plain
# settings are read from kis_intel_assets.settings when the definitions load.
database = database_resource_from_env()

defs = dg.Definitions.merge(
    ingest_defs,
    analytics_defs,
    pages_defs,
    alerts_defs,
    dg.Definitions(resources={"database": database, "kis": kis_resource_from_env(database)}),
)
