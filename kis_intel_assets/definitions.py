"""The one Definitions object of kis-intel: every asset, check, schedule, sensor and resource."""

from __future__ import annotations

import dagster as dg

from kis_intel_assets.defs.alerts.definitions import alert_resources, alert_sensors
from kis_intel_assets.defs.analytics.assets import analytics_assets
from kis_intel_assets.defs.analytics.checks import analytics_checks
from kis_intel_assets.defs.automation import analytics_automation
from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.ingest.checks import table_checks
from kis_intel_assets.defs.ingest.intraday import intraday_flows, intraday_job, intraday_schedule
from kis_intel_assets.defs.ingest.schedules import (
    daily_market_data_job,
    daily_market_data_schedule,
    universe_job,
    universe_schedule,
)
from kis_intel_assets.defs.pages.assets import page_specs
from kis_intel_assets.defs.resources import database_resource_from_env, kis_resource_from_env

# Secrets (the database URL included) go through EnvVar (resolved at launch, shown by name only); plain
# settings are read from kis_intel_assets.settings when the definitions load.
database = database_resource_from_env()

defs = dg.Definitions(
    assets=[
        stock_universe,
        daily_prices,
        investor_trends,
        short_selling,
        program_trading,
        intraday_flows,
        *analytics_assets,
        *page_specs,
    ],
    asset_checks=[*table_checks, *analytics_checks],
    jobs=[universe_job, daily_market_data_job, intraday_job],
    schedules=[universe_schedule, daily_market_data_schedule, intraday_schedule],
    sensors=[analytics_automation, *alert_sensors],
    resources={
        **alert_resources,
        "database": database,
        "kis": kis_resource_from_env(database),
    },
)
