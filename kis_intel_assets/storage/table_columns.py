"""Every table's columns as the sql/ migrations leave them, read from the migration files (no database).

The migrations are the one place that says what a table holds, so the asset catalog's column schemas are
derived from them at definition time, when no database may be reachable. The reader follows the DDL the
migrations use: CREATE TABLE (also `LIKE other`), ALTER TABLE ADD / DROP / RENAME COLUMN, RENAME TO, ALTER
COLUMN TYPE and SET / DROP NOT NULL, DROP TABLE. A test compares the result with the catalog of a migrated
database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

from kis_intel_assets.storage.migrations import MIGRATION_FILE, sql_dir

# Words that end a column's type in its definition.
_CONSTRAINT_WORDS = r"NOT|NULL|CHECK|DEFAULT|PRIMARY|REFERENCES|UNIQUE|GENERATED|CONSTRAINT|COLLATE"
# A name may be quoted (a reserved word such as "group").
_COLUMN = re.compile(rf'^"?(?P<name>\w+)"?\s+(?P<type>.+?)(?=\s+(?:{_CONSTRAINT_WORDS})\b|$)', re.I | re.S)
_TABLE_CONSTRAINT = re.compile(r"^(PRIMARY\s+KEY|UNIQUE|CHECK|CONSTRAINT|FOREIGN\s+KEY|EXCLUDE)\b", re.I)
_CREATE = re.compile(r"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)$", re.I | re.S)
_ALTER = re.compile(r"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(\w+)\s+(.*)$", re.I | re.S)
_DROP_TABLE = re.compile(r"^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)", re.I)
_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "float8": "double precision",
    "bool": "boolean",
    "timestamptz": "timestamp with time zone",
    "varchar": "character varying",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as PostgreSQL's format_type() spells it: "numeric(8,2)", "timestamp with time zone"
    nullable: bool


def table_columns(table: str) -> list[Column]:
    """The columns of `table` in their database order; KeyError when no migration creates it."""
    return migrated_tables()[table]


@cache
def migrated_tables() -> dict[str, list[Column]]:
    """Every table the migrations create, with its columns."""
    tables: dict[str, list[Column]] = {}
    files = sorted(p for p in sql_dir().iterdir() if MIGRATION_FILE.match(p.name))
    for path in files:
        for statement in _statements(path.read_text()):
            _apply(tables, statement)
    return tables


def _statements(text: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", text)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def _apply(tables: dict[str, list[Column]], statement: str) -> None:
    if created := _CREATE.match(statement):
        table, body = created.groups()
        if like := re.match(r"^LIKE\s+(\w+)\b", body.strip(), re.I):
            tables[table] = list(tables[like.group(1)])
            return
        columns, keys = [], set()
        for part in _top_level(body):
            if key := re.match(r"^PRIMARY\s+KEY\s*\((.*)\)", part, re.I):
                keys |= {name.strip().strip('"') for name in key.group(1).split(",")}
            elif not _TABLE_CONSTRAINT.match(part):
                columns.append(_column(part))
        tables[table] = [replace(c, nullable=False) if c.name in keys else c for c in columns]
    elif altered := _ALTER.match(statement):
        table, actions = altered.groups()
        for action in _top_level(actions):
            _alter(tables, table, action)
    elif dropped := _DROP_TABLE.match(statement):
        tables.pop(dropped.group(1), None)


def _alter(tables: dict[str, list[Column]], table: str, action: str) -> None:
    if table not in tables:
        return  # a table the migrations did not create here (e.g. a TimescaleDB catalog): not ours
    columns = tables[table]
    index = {c.name: i for i, c in enumerate(columns)}
    if added := re.match(r"^ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(.*)$", action, re.I | re.S):
        column = _column(added.group(1))
        if column.name not in index:
            columns.append(column)
    elif dropped := re.match(r"^DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?(\w+)", action, re.I):
        columns[:] = [c for c in columns if c.name != dropped.group(1)]
    elif moved := re.match(r"^RENAME\s+TO\s+(\w+)", action, re.I):
        tables[moved.group(1)] = tables.pop(table)
    elif renamed := re.match(r"^RENAME\s+COLUMN\s+(\w+)\s+TO\s+(\w+)", action, re.I):
        old, new = renamed.groups()
        columns[index[old]] = replace(columns[index[old]], name=new)
    elif retyped := re.match(r"^ALTER\s+COLUMN\s+(\w+)\s+(?:SET\s+DATA\s+)?TYPE\s+(.+?)(?:\s+USING\b.*)?$",
                             action, re.I | re.S):  # fmt: skip
        name, new_type = retyped.groups()
        columns[index[name]] = replace(columns[index[name]], type=_normal_type(new_type))
    elif nulls := re.match(r"^ALTER\s+COLUMN\s+(\w+)\s+(SET|DROP)\s+NOT\s+NULL", action, re.I):
        name, verb = nulls.groups()
        columns[index[name]] = replace(columns[index[name]], nullable=verb.upper() == "DROP")


def _column(definition: str) -> Column:
    match = _COLUMN.match(definition.strip())
    if match is None:
        raise ValueError(f"sql/: cannot read the column definition {definition!r}")
    rest = definition[match.end() :].upper()
    not_null = bool(re.search(r"\bNOT\s+NULL\b|\bPRIMARY\s+KEY\b", rest))
    return Column(match.group("name"), _normal_type(match.group("type")), nullable=not not_null)


def _normal_type(spelled: str) -> str:
    text = re.sub(r"\s+", " ", spelled.strip().lower())
    text = re.sub(r"\s*,\s*", ",", text)
    text = re.sub(r"\s*\(\s*", "(", text)
    base, _, rest = text.partition("(")
    base = _ALIASES.get(base.strip(), base.strip())
    return f"{base}({rest}" if rest else base


def _top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and char == ",":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]
