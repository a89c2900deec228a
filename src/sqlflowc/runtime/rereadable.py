"""Whether a MERGE's source can be read twice instead of copied: `rereadable(con, query, target)`.

A MERGE checks its source's keys before writing, so by default it copies the source into a
temporary table first (`CREATE TEMPORARY TABLE stage AS <query>`) and reads that copy. When the
query is a projection of one table of the database — `SELECT <expressions> FROM t [WHERE ...]`,
nothing else — reading it again costs no more than reading a copy, and inside the step's
transaction gives the same rows (DuckDB reads one snapshot per transaction). Then the executor
copies only the keys (for the checks and the delete) and inserts straight from the query, as a
hand-written DELETE + INSERT would, saving the copy of every column.

The query qualifies only when all of this holds (anything else, or anything this module does not
recognise, keeps the copy):
- DuckDB's own parser (`json_serialize_sql`) reads it as one `SELECT` from one base table: no
  join, subquery, CTE, table function, file path, `GROUP BY`, `HAVING`, `QUALIFY`, window,
  `DISTINCT`, `ORDER BY`, `LIMIT`, `SAMPLE`, time travel or parameter;
- every expression is a column, a constant, a cast, a comparison, an AND/OR/NOT, `IS NULL`,
  `IN (...)` of values, `BETWEEN`, `CASE` or a call of a built-in scalar function whose result
  depends only on its arguments within a transaction (DuckDB's `stability` is `CONSISTENT` or
  `CONSISTENT_WITHIN_QUERY`, like `now()`, which is the transaction's start): no `random()`,
  `nextval()` or macro, and no Python UDF — DuckDB lists those as built-in functions too, but
  sqlflowc registers them as `python_udfs.<module>.<name>`, and no DuckDB function has a dot
  in its name;
- the name is a table in the database — no view of that name exists anywhere (a view can hide
  anything), and it is not the target's name (the delete would change what is read).

With `parameters=True`, named parameters (`$start_dt`: one value for the whole statement) are
allowed too. INCREMENTAL asks that of its query: one that reads no table the load writes can be
inserted straight after the window's delete instead of being copied first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlflowc.sqlbuild import loads as sql

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

__all__ = ["rereadable"]

# Expression classes of DuckDB's parse tree that compute from the row alone (FUNCTION: checked
# by name). A subquery, window, lambda, parameter, ... is none of these.
_EXPRESSIONS = frozenset(
    {
        "BETWEEN",
        "CASE",
        "CAST",
        "COLUMN_REF",
        "COMPARISON",
        "CONJUNCTION",
        "CONSTANT",
        "FUNCTION",
        "OPERATOR",
        "STAR",
        "TYPE",  # the type of a cast
    }
)

# Every overload of each named function is a built-in scalar function whose result depends on
# its arguments only (within one transaction).
_STABLE_FUNCTIONS = (
    "SELECT lower(function_name), bool_and(internal AND function_type = 'scalar' "
    "AND stability IN ('CONSISTENT', 'CONSISTENT_WITHIN_QUERY')) "
    "FROM duckdb_functions() WHERE lower(function_name) IN (SELECT unnest($1::VARCHAR[])) "
    "GROUP BY 1"
)

# (tables, views) named `$1` in any database or schema.
_NAMED = (
    "SELECT (SELECT count(*) FROM duckdb_tables() WHERE lower(table_name) = lower($1)), "
    "(SELECT count(*) FROM duckdb_views() WHERE lower(view_name) = lower($1))"
)


def rereadable(con: Connection, query: str, target: str, *, parameters: bool = False) -> bool:
    """True when `query` is a projection of one table other than `target` that gives the same
    rows each time it is read in one transaction (see the module docstring); `parameters`:
    it may use named parameters."""
    import duckdb

    try:
        text = con.execute("SELECT json_serialize_sql($1)", [query]).fetchall()[0][0]
        tree = json.loads(text)
    except (duckdb.Error, ValueError, IndexError):
        return False
    if not isinstance(tree, dict) or tree.get("error") is not False:
        return False
    statements = tree.get("statements")
    if not isinstance(statements, list) or len(statements) != 1:
        return False
    statement = statements[0]
    if statement.get("named_param_map") != [] and not parameters:
        return False
    table = _single_table(statement.get("node"))
    if table is None:
        return False
    functions: set[str] = set()
    node = statement["node"]
    allowed = _EXPRESSIONS | {"PARAMETER"} if parameters else _EXPRESSIONS
    if not _computes_from_row(node.get("select_list"), functions, allowed):
        return False
    if not _computes_from_row(node.get("where_clause"), functions, allowed):
        return False
    if table.lower() == sql.split_name(target)[1].lower():
        return False
    return _stable(con, functions) and _only_a_table(con, table)


def _single_table(node: Any) -> str | None:
    """The table name of `SELECT ... FROM table [WHERE ...]`, or None for any other shape."""
    if not isinstance(node, dict) or node.get("type") != "SELECT_NODE":
        return None
    empty = ("modifiers", "group_expressions", "group_sets")
    if any(node.get(key) != [] for key in empty) or node.get("cte_map") != {"map": []}:
        return None
    if any(key not in node or node[key] is not None for key in ("having", "qualify", "sample")):
        return None
    if node.get("aggregate_handling") != "STANDARD_HANDLING":
        return None
    source = node.get("from_table")
    if not isinstance(source, dict) or source.get("type") != "BASE_TABLE":
        return None
    if source.get("sample", 0) is not None or source.get("at_clause", 0) is not None:
        return None
    name = source.get("table_name")
    return name if isinstance(name, str) and name else None


def _computes_from_row(value: Any, functions: set[str], allowed: frozenset[str]) -> bool:
    """Every expression in `value` (a parse-tree fragment) is of an `allowed` class; the names
    of the functions it calls are added to `functions`."""
    if isinstance(value, list):
        return all(_computes_from_row(v, functions, allowed) for v in value)
    if not isinstance(value, dict):
        return True
    kind = value.get("class")
    if kind is not None:
        if kind not in allowed:
            return False
        if kind == "FUNCTION" and not _plain_call(value, functions):
            return False
    return all(_computes_from_row(v, functions, allowed) for v in value.values())


def _plain_call(call: dict[str, Any], functions: set[str]) -> bool:
    """A call of a function by a bare name without a dot (a Python UDF's has dots): no schema,
    FILTER, ORDER BY or DISTINCT."""
    name = call.get("function_name")
    order = call.get("order_bys")
    if not isinstance(name, str) or "." in name or call.get("schema") or call.get("catalog"):
        return False
    if call.get("filter") is not None or call.get("distinct") or call.get("export_state"):
        return False
    if not isinstance(order, dict) or order.get("orders") != []:
        return False
    functions.add(name.lower())
    return True


def _stable(con: Connection, functions: Iterable[str]) -> bool:
    names = sorted(functions)
    if not names:
        return True
    found = dict(con.execute(_STABLE_FUNCTIONS, [names]).fetchall())
    return all(found.get(name) is True for name in names)


def _only_a_table(con: Connection, name: str) -> bool:
    tables, views = con.execute(_NAMED, [name]).fetchall()[0]
    return bool(tables) and not views
