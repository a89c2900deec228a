"""Quoting and small builders: literals always quoted correctly, because sqlglot prints them.

>>> sql_string("it's")
"'it''s'"
>>> select_from(table_function("read_csv", "/d/a.csv", {"header": True}), ["id"]).sql("duckdb")
'SELECT "id" FROM READ_CSV(\\'/d/a.csv\\', header = TRUE)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "select_from",
    "sql_identifier",
    "sql_qualified",
    "sql_string",
    "sql_table",
    "sql_value",
    "table_function",
]


# sql_string and sql_identifier are what sqlglot prints for a string literal and a quoted
# identifier (a test compares them on generated text); written out so that quoting a value at
# run time does not import sqlglot.


def sql_string(value: str) -> str:
    """A DuckDB string literal: `it's` → `'it''s'`."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted DuckDB identifier: `my col` → `"my col"` (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def sql_qualified(name: str) -> str:
    """A table name as written (`t`, `s."My T"`) with every part quoted: `"s"."My T"`. DuckDB
    compares quoted names case-insensitively too, so this names the same table."""
    from sqlflowc.names import name_parts

    return ".".join(sql_identifier(part) for part in name_parts(name))


def sql_table(name: str) -> str:
    """A table name as written (`t`, `s."My T"`) in DuckDB SQL, each part quoted where DuckDB
    needs it: `select` → `"select"`, `order.x` → `"order".x`, `t` → `t`."""
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        return str(exp.to_table(name, dialect="duckdb").sql(dialect="duckdb"))
    except (ParseError, TokenError):
        return name  # not a name sqlglot can read: as written (DuckDB reports it)


def sql_value(value: Any) -> exp.Expression:
    """A JSON-like Python value as a DuckDB literal (list → list, dict → struct)."""
    from sqlglot import exp

    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, Sequence):
        return exp.Array(expressions=[sql_value(v) for v in value])
    if isinstance(value, Mapping):
        return exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.Literal.string(str(k)), expression=sql_value(v))
                for k, v in value.items()
            ]
        )
    raise TypeError(f"no SQL literal for {value!r}")


def table_function(name: str, location: str, named: Mapping[str, Any]) -> exp.Expression:
    """`name('location', key = value, ...)`, skipping arguments whose value is None."""
    from sqlglot import exp

    args: list[exp.Expression] = [exp.Literal.string(location)]
    for key, value in named.items():
        if value is not None:
            args.append(exp.EQ(this=exp.column(key), expression=sql_value(value)))
    return exp.Anonymous(this=name, expressions=args)


def select_from(function: exp.Expression, columns: Sequence[str] | None = None) -> exp.Select:
    """`SELECT * FROM function`, or `SELECT "a", "b" FROM function` for a projection."""
    from sqlglot import exp

    projection: list[exp.Expression] = (
        [exp.column(exp.to_identifier(c, quoted=True)) for c in columns]
        if columns
        else [exp.Star()]
    )
    return exp.select(*projection).from_(exp.Table(this=function))
