"""The same definitions with every step of a run sent to Celery workers (dagster-celery, Redis broker).

Ingestion is bound by the per-app-key KIS budget, not by CPU, so workers do not make one key faster; they
spread the steps of many runs (and the analytics) over machines. Every worker draws its tokens and
request slots from the same PostgreSQL rows (KIS_INTEL_DATABASE_URL), so the 20/s budget holds across
all of them, and the `kis_api` pool (Dagster's database) caps the KIS steps in flight.

    pip install -e '.[celery]'
    export KIS_INTEL_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 KIS_INTEL_CELERY_BACKEND_URL=redis://127.0.0.1:6379/1
    dagster-celery worker start -A dagster_celery.app -y deploy/celery.yaml     # on each worker
    dagster dev -m kis_intel_assets.celery_definitions                          # or dagster-webserver/-daemon

Workers and the process that launches runs need the same DAGSTER_HOME (a PostgreSQL instance, e.g.
deploy/dagster.yaml) and the same KIS_* and KIS_INTEL_* environment.
"""

from __future__ import annotations

import dagster as dg
from dagster_celery import celery_executor

from kis_intel_assets import definitions

BROKER_ENV = "KIS_INTEL_CELERY_BROKER_URL"
BACKEND_ENV = "KIS_INTEL_CELERY_BACKEND_URL"

defs = dg.Definitions.merge(
    definitions.defs,
    dg.Definitions(
        executor=celery_executor.configured({"broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV}})
    ),
)
