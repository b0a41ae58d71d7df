"""Dagster definitions grouped by domain: ingest (KIS → PostgreSQL), analytics, alerts.

Importing any of them first silences Dagster's Beta / Preview warnings, once per process: the project uses
those APIs on purpose (partitioned asset checks, declarative automation, freshness policies, partition
mappings over missing partitions) and pins Dagster, so the ~180 repeated lines in `dagster dev` say
nothing new. Every other warning still shows.
"""

import warnings

from dagster import BetaWarning, PreviewWarning

for _category in (BetaWarning, PreviewWarning):
    warnings.filterwarnings("ignore", category=_category)
