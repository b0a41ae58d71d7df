"""Which PostgreSQL table an asset writes, in Dagster's standard metadata (`dagster/table_name`, shown on
the asset page and searchable in the catalog), plus the other tables the same transaction writes."""


def table_metadata(table: str, *also_writes: str, **links: str) -> dict[str, str]:
    return {
        "dagster/table_name": table,
        **({"also_writes": ", ".join(also_writes)} if also_writes else {}),
        **links,
    }
