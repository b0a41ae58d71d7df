"""The one Definitions object of kis-intel: every asset, check, schedule, sensor and resource."""

from __future__ import annotations

import os

import dagster as dg

from kis_intel_assets.defs.alerts.definitions import alert_resources, alert_sensors
from kis_intel_assets.defs.analytics.assets import analytics_assets
from kis_intel_assets.defs.analytics.checks import analytics_checks
from kis_intel_assets.defs.automation import analytics_automation
from kis_intel_assets.defs.failures import setting_at_load
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
from kis_intel_assets.defs.krx.assets import krx_assets
from kis_intel_assets.defs.krx.checks import krx_checks
from kis_intel_assets.defs.krx.resources import krx_resource_from_env
from kis_intel_assets.defs.krx.schedules import krx_daily_job, krx_daily_schedule
from kis_intel_assets.defs.pages.assets import page_specs
from kis_intel_assets.defs.resources import KISResource, database_resource_from_env, rate_limit_from_env
from kis_intel_assets.kis.config import (
    BASE_URL_ENV,
    MASTER_BASE_URL,
    MASTER_BASE_URL_ENV,
    PAPER_ENV,
    paper_from_env,
)
from kis_intel_assets.kiwoom.config import REAL_BASE_URL as KIWOOM_BASE_URL

# Secrets (the database URL included) go through EnvVar (resolved at launch, shown by name only); plain
# settings are read here.
database = database_resource_from_env()
# The optional KRX portal (README "KRX data portal"): off unless KRX_ID and KRX_PW are set.
krx = krx_resource_from_env()

defs = dg.Definitions(
    assets=[
        stock_universe,
        daily_prices,
        investor_trends,
        short_selling,
        program_trading,
        intraday_flows,
        *krx_assets,
        *analytics_assets,
        *page_specs,
    ],
    asset_checks=[*table_checks, *analytics_checks, *krx_checks],
    jobs=[universe_job, daily_market_data_job, intraday_job, krx_daily_job],
    schedules=[universe_schedule, daily_market_data_schedule, intraday_schedule, krx_daily_schedule],
    sensors=[analytics_automation, *alert_sensors],
    resources={
        **alert_resources,
        "database": database,
        "krx": krx,
        "kis": KISResource(
            app_key=dg.EnvVar("KIS_APP_KEY"),
            app_secret=dg.EnvVar("KIS_APP_SECRET"),
            # More keys, each with its own token and budget (an unset EnvVar would fail every launch).
            extra_app_keys=dg.EnvVar("KIS_EXTRA_APP_KEYS") if os.environ.get("KIS_EXTRA_APP_KEYS") else "",
            extra_app_secrets=dg.EnvVar("KIS_EXTRA_APP_SECRETS")
            if os.environ.get("KIS_EXTRA_APP_SECRETS")
            else "",
            database=database,
            base_url=os.environ.get(BASE_URL_ENV, ""),
            master_base_url=os.environ.get(MASTER_BASE_URL_ENV, MASTER_BASE_URL),
            paper=paper_from_env(os.environ.get(PAPER_ENV, "")),
            market_division=os.environ.get("KIS_MARKET_DIVISION", "J"),
            rate_limit_per_sec=setting_at_load(rate_limit_from_env),
            # The optional second broker (kis_intel_assets/kiwoom, README "Kiwoom (optional second source)").
            source=os.environ.get("KIS_INTEL_SOURCE", "kis"),
            kiwoom_app_key=dg.EnvVar("KIWOOM_APP_KEY") if os.environ.get("KIWOOM_APP_KEY") else "",
            kiwoom_app_secret=dg.EnvVar("KIWOOM_APP_SECRET") if os.environ.get("KIWOOM_APP_SECRET") else "",
            kiwoom_base_url=os.environ.get("KIWOOM_BASE_URL", KIWOOM_BASE_URL),
            krx=krx,
        ),
    },
)
