"""Which PostgreSQL table an asset writes, in Dagster's standard metadata: `dagster/table_name` (shown on
the asset page and searchable in the catalog) and `dagster/column_schema`, the table's columns with their
types and nullability as the sql/ migrations define them (read from the files: no database at import) and
its primary key as the table registry (storage/tables.py) holds it."""

import dagster as dg

from kis_intel_assets.storage import registered_table
from kis_intel_assets.storage.table_columns import table_columns

RFC_CONTRACT = "RFC-010 table (docs/rfc010_contract.md): time = 00:00 Asia/Seoul of the trading day"


def column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                column.name, column.type, constraints=dg.TableColumnConstraints(nullable=column.nullable)
            )
            for column in table_columns(table)
        ],
        constraints=dg.TableConstraints(other=[f"PRIMARY KEY ({', '.join(registered_table(table).key)})"]),
    )


def table_metadata(table: str, **links: str) -> dict[str, object]:
    contract = {"rfc_contract": RFC_CONTRACT} if registered_table(table).kst_day else {}
    return {
        "dagster/table_name": table,
        "dagster/column_schema": column_schema(table),
        **contract,
        **links,
    }
