"""Which PostgreSQL table an asset writes, in Dagster's standard metadata: `dagster/table_name` (shown on
the asset page and searchable in the catalog) and `dagster/column_schema`, the table's columns with their
types and nullability as the sql/ migrations define them (read from the files: no database at import)."""

import dagster as dg

from kis_intel_assets.storage.table_columns import table_columns


def column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                column.name, column.type, constraints=dg.TableColumnConstraints(nullable=column.nullable)
            )
            for column in table_columns(table)
        ]
    )


def table_metadata(table: str, **links: str) -> dict[str, object]:
    return {
        "dagster/table_name": table,
        "dagster/column_schema": column_schema(table),
        **links,
    }
