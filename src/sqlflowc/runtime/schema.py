"""Reading schemas from DuckDB (the effects; the rules are in `sqlflowc.schema`): the columns
of a relation on a connection, and the tables of a project database for the compiler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.names import parts_key, table_key
from sqlflowc.schema import Column
from sqlflowc.schema.catalog import Known, Lookup, SourceQuestion, Unknown
from sqlflowc.sqlbuild import sql_identifier, sql_qualified, sql_string

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["DatabaseCatalog", "describe_columns", "describe_query"]


def describe_columns(con: Connection, relation: str, *, temp: bool = False) -> list[Column]:
    """The columns of a table, view or stage as `DESCRIBE` shows them, in order (`temp`: a name
    we generated, always quoted; else a table name, possibly qualified)."""
    name = sql_identifier(relation) if temp else sql_qualified(relation)
    rows = con.execute(f"DESCRIBE {name}").fetchall()
    return [Column(str(r[0]), str(r[1]), r[2] != "NO", r[4]) for r in rows]


def describe_query(con: Connection, query: str, params: Mapping[str, Any]) -> list[Column]:
    """The columns `query` gives, as `DESCRIBE` shows them (it binds the query, runs nothing);
    `params` are its named parameters."""
    rows = con.execute(f"DESCRIBE {query}", dict(params) or None).fetchall()
    return [Column(str(r[0]), str(r[1]), r[2] != "NO", r[4]) for r in rows]


class DatabaseCatalog:
    """The tables of a DuckDB database file, for the compiler (`sqlflowc.schema.catalog`).

    Read once, on the first lookup, with one catalog query on the file attached read-only to an
    in-memory database, which is closed again at once: nothing stays open, nothing is written.
    A database that does not exist (or `:memory:`, or None) has no tables; one that cannot be
    opened (locked by another process, unreadable) answers `Unknown` with DuckDB's reason.
    Views are not tables: they are not listed.
    """

    def __init__(self, database: str | None) -> None:
        self.database = database
        self._tables: dict[str, tuple[Column, ...]] | Unknown | None = None

    def table(self, key: str) -> Lookup:
        if self._tables is None:
            self._tables = self._read()
        if isinstance(self._tables, Unknown):
            return self._tables
        columns = self._tables.get(table_key(key))
        return Known(columns, str(self.database)) if columns is not None else None

    def source(self, name: str, connector: str, params: Mapping[str, Any]) -> Lookup:
        return None

    def prefetch(self, questions: Sequence[SourceQuestion]) -> None:
        pass  # read on demand, from local files

    def _read(self) -> dict[str, tuple[Column, ...]] | Unknown:
        database = self.database
        if not database or database.startswith(":memory:") or not Path(database).is_file():
            return {}
        import duckdb

        query = (
            "SELECT t.schema_name, t.table_name, c.column_name, c.data_type, c.is_nullable, "
            "c.column_default FROM duckdb_columns() c "
            "JOIN duckdb_tables() t ON c.table_oid = t.table_oid "
            "WHERE c.database_name = '_sqlflow_existing' "
            "ORDER BY t.schema_name, t.table_name, c.column_index"
        )
        try:
            with duckdb.connect(":memory:") as con:
                con.execute(f"ATTACH {sql_string(database)} AS _sqlflow_existing (READ_ONLY)")
                rows = con.execute(query).fetchall()
        except duckdb.Error as err:
            lines = str(err).strip().splitlines()
            return Unknown(database, lines[0] if lines else None)
        tables: dict[str, list[Column]] = {}
        for schema, table, *column in rows:
            key = parts_key([str(schema), str(table)])
            name, kind, nullable, default = column
            tables.setdefault(key, []).append(Column(str(name), str(kind), bool(nullable), default))
        return {k: tuple(v) for k, v in tables.items()}
