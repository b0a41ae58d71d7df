"""Analytics assets: thin Dagster wrappers around kis_intel_assets.analytics over PostgreSQL."""
