"""DuckDB SQL built with sqlglot, shared by the compiler, the connectors and the runtime.

`literals` quotes values and names and builds table-function scans; `loads` builds every
statement of an APPEND, MERGE or INCREMENTAL load, `key_checks` the queries checking a MERGE's
keys, both from the nodes of `nodes`. Pure text building: nothing here runs SQL.
"""

from __future__ import annotations

from sqlflowc.sqlbuild.literals import (
    select_from,
    sql_identifier,
    sql_qualified,
    sql_string,
    sql_table,
    sql_value,
    table_function,
)

__all__ = [
    "select_from",
    "sql_identifier",
    "sql_qualified",
    "sql_string",
    "sql_table",
    "sql_value",
    "table_function",
]
