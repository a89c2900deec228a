"""The columns of a database's base tables, read from DuckDB's catalog: many tables in one
query (what a run's schema captures use), or one (`sqlflowc schema compare --live`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlflowc.names import name_parts
from sqlflowc.schema import Column

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["describe_table", "describe_tables"]


def describe_table(con: Connection, key: str) -> list[Column] | None:
    """The columns of base table `key` (`schema.name` or `name`), or None when it is none."""
    return describe_tables(con, [key]).get(key)


def describe_tables(con: Connection, keys: Sequence[str]) -> dict[str, list[Column]]:
    """The columns of each of `keys` (`schema.name` or `name`) that is a base table of the
    database, with one catalog query for all of them (the columns of relations that are not
    views: a first call of `duckdb_tables()` in a process costs several milliseconds more)."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        parts = name_parts(key)
        schema, name = (parts[-2], parts[-1]) if len(parts) >= 2 else ("main", parts[-1])
        wanted.setdefault((schema.lower(), name.lower()), []).append(key)
    rows = con.execute(
        "SELECT lower(c.schema_name), lower(c.table_name), c.column_name, c.data_type, "
        "c.is_nullable FROM duckdb_columns() c "
        "WHERE c.database_name = current_database() AND list_contains(?, lower(c.table_name)) "
        "AND c.table_oid NOT IN (SELECT view_oid FROM duckdb_views() "
        "WHERE database_name = current_database()) "
        "ORDER BY c.table_oid, c.column_index",
        [sorted({name for _, name in wanted})],
    ).fetchall()
    found: dict[str, list[Column]] = {}
    for schema, name, column, data_type, nullable in rows:
        for key in wanted.get((schema, name), ()):
            found.setdefault(key, []).append(Column(str(column), str(data_type), bool(nullable)))
    return found
