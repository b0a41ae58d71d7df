"""The one Definitions object of kis-intel: every asset, check, schedule, sensor and resource."""

from __future__ import annotations

import os

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
from kis_intel_assets.defs.resources import DatabaseResource, KISResource, rate_limit_from_env
from kis_intel_assets.kis.config import MASTER_BASE_URL

# Secrets go through EnvVar (resolved at launch, shown by name only); plain settings are read here.
database = DatabaseResource(url=os.environ.get("KIS_INTEL_DATABASE_URL", ""))

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
        "kis": KISResource(
            app_key=dg.EnvVar("KIS_APP_KEY"),
            app_secret=dg.EnvVar("KIS_APP_SECRET"),
            # More keys, each with its own token and budget (an unset EnvVar would fail every launch).
            extra_app_keys=dg.EnvVar("KIS_EXTRA_APP_KEYS") if os.environ.get("KIS_EXTRA_APP_KEYS") else "",
            extra_app_secrets=dg.EnvVar("KIS_EXTRA_APP_SECRETS")
            if os.environ.get("KIS_EXTRA_APP_SECRETS")
            else "",
            database=database,
            base_url=os.environ.get("KIS_BASE_URL", ""),
            master_base_url=os.environ.get("KIS_MASTER_BASE_URL", MASTER_BASE_URL),
            paper=os.environ.get("KIS_PAPER", "").lower() in {"1", "true", "yes"},
            rate_limit_per_sec=rate_limit_from_env(),
        ),
    },
)
