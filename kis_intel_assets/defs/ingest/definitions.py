"""The ingest domain's definitions: KIS → PostgreSQL assets, their table checks, jobs and schedules.

The root (kis_intel_assets/definitions.py) merges them with the other domains and binds the resources.
"""

import dagster as dg

from kis_intel_assets.defs.ingest.assets import (
    daily_prices,
    investor_trends,
    program_trading,
    short_selling,
    stock_universe,
)
from kis_intel_assets.defs.ingest.checks import table_checks
from kis_intel_assets.defs.ingest.intraday import intraday_flows, intraday_job, intraday_schedule
from kis_intel_assets.defs.ingest.lending import stock_lending, stock_lending_checks
from kis_intel_assets.defs.ingest.overheat_designations import (
    overheat_designation_checks,
    short_overheat_designations,
)
from kis_intel_assets.defs.ingest.schedules import (
    daily_market_data_job,
    daily_market_data_schedule,
    universe_job,
    universe_schedule,
)

ingest_defs = dg.Definitions(
    assets=[
        stock_universe,
        daily_prices,
        investor_trends,
        short_selling,
        program_trading,
        intraday_flows,
        stock_lending,
        short_overheat_designations,
    ],
    asset_checks=[*table_checks, stock_lending_checks, *overheat_designation_checks],
    jobs=[universe_job, daily_market_data_job, intraday_job],
    schedules=[universe_schedule, daily_market_data_schedule, intraday_schedule],
)
