"""Reading schemas from a DuckDB connection (the effects; the rules are in `sqlflowc.schema`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlflowc.schema import Column
from sqlflowc.sqlbuild import loads as sql

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["describe_columns"]


def describe_columns(con: Connection, relation: str, *, temp: bool = False) -> list[Column]:
    """The columns of a table, view or stage as `DESCRIBE` shows them, in order (`temp`: a name
    we generated, always quoted; else a table name, possibly qualified)."""
    rows = con.execute(sql.describe(relation, temp=temp)).fetchall()
    return [Column(str(r[0]), str(r[1]), r[2] != "NO", r[4]) for r in rows]
