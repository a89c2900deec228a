"""Quoting and small builders, written out as plain text so that building a scan or quoting a
value at run time does not import sqlglot; each prints exactly what sqlglot prints for the same
thing (tests compare them on generated values).

>>> sql_string("it's")
"'it''s'"
>>> select_from(table_function("read_csv", "/d/a.csv", {"header": True}), ["id"])
'SELECT "id" FROM READ_CSV(\\'/d/a.csv\\', header = TRUE)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "RESERVED",
    "select_from",
    "sql_identifier",
    "sql_qualified",
    "sql_string",
    "sql_table",
    "sql_value",
    "table_function",
]


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


def sql_value(value: Any) -> str:
    """A JSON-like Python value as a DuckDB literal (list → list, dict → struct), as sqlglot
    prints it: `TRUE`, `5`, `'x'`, `['a', 'b']`, `{'a': 'INT'}` (a negative float in exponent
    notation as Python writes it, `-1e+16`, where sqlglot writes `-1E+16`: the same number)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(sql_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{sql_string(str(k))}: {sql_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"no SQL literal for {value!r}")


def table_function(name: str, location: str, named: Mapping[str, Any]) -> str:
    """`NAME('location', key = value, ...)`, skipping arguments whose value is None."""
    args = [sql_string(location)]
    args += [f"{_argument(key)} = {sql_value(v)}" for key, v in named.items() if v is not None]
    return f"{name.upper()}({', '.join(args)})"


def select_from(function: str, columns: Sequence[str] | None = None) -> str:
    """`SELECT * FROM function`, or `SELECT "a", "b" FROM function` for a projection."""
    projection = ", ".join(sql_identifier(c) for c in columns) if columns else "*"
    return f"SELECT {projection} FROM {function}"


def _argument(key: str) -> str:
    """A named argument's name, quoted only where DuckDB needs it (a reserved word)."""
    plain = _PLAIN.fullmatch(key) is not None and key not in RESERVED
    return key if plain else sql_identifier(key)


_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


# DuckDB's reserved words, which sqlglot quotes when they name something (a test compares this
# with sqlglot's list).
RESERVED = frozenset(
    """
    all analyse analyze and anti any array as asc asof asymmetric at authorization binary both by
    case cast check collate collation column columns concurrently constraint create cross
    current_catalog current_date current_role current_time current_timestamp current_user
    default deferrable desc describe distinct do else end except false fetch for foreign freeze
    from full generated glob grant group having ilike in initially inner intersect into is
    isnull join lambda lateral leading left like limit localtime localtimestamp map natural not
    notnull null offset on only or order outer overlaps pivot pivot_longer pivot_wider placing
    positional primary qualify references returning right select semi session_user show similar
    some struct summarize symmetric table tablesample then to trailing true try_cast tuple union
    unique unpack unpivot user using variadic verbose when where window with
    """.split()  # noqa: SIM905 - a list of 122 strings, one per line, reads worse
)
