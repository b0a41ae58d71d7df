"""Daily-partitioned ingestion of KIS data into PostgreSQL, validated before anything is written."""
