"""Dagster definitions grouped by domain: ingest (KIS → PostgreSQL), analytics, alerts."""
