"""An INCREMENTAL load's high-water mark, filtered by PostgreSQL.

`watermark_predicate(mark, columns)` is the ` WHERE ...` of the read's COPY: rows with the column
past `mark.after` (and not past `mark.until`), and the session settings it reads. PostgreSQL
takes no parameters in `COPY`, so each bound is a session setting the reader sets on the COPY's
connection with a bound value (`SELECT set_config('sqlflowc.after', $1, false)`) and the query
reads back (`CAST(current_setting('sqlflowc.after') AS <type>)`): the COPY statement's text never
holds a value, whatever it is.

Only for columns PostgreSQL orders exactly as DuckDB does (`pushable`): integers, floats,
numeric, date, timestamp, timestamptz, and text/varchar compared byte-wise (`COLLATE "C"`, the
order of DuckDB's VARCHAR). Otherwise there is no predicate: every row is read and the load's
own filter in DuckDB applies the bound (which it does in any case).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from sqlflowc.connectors.postgres.types import ReadTransfer

__all__ = ["WatermarkFilter", "pushable", "watermark_predicate"]


@dataclass(frozen=True, slots=True)
class WatermarkFilter:
    """Only rows with `column` past `after` (`>=` when `inclusive`; None: no lower bound) and
    not past `until` (inclusive; None: no upper bound)."""

    column: str
    after: Any
    inclusive: bool = False
    until: Any = None


# The types whose order PostgreSQL and DuckDB agree on, and the type a bound is cast to.
_BOUND_TYPES = {
    "int2": "int8",
    "int4": "int8",
    "int8": "int8",
    "float4": "float8",
    "float8": "float8",
    "numeric": "numeric",
    "date": "timestamp",  # a bound may be a timestamp (LOOKBACK); a date is its midnight
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "text": "text",
    "varchar": "text",
}
_TEXT = frozenset({"text", "varchar"})


def pushable(column: ReadTransfer) -> bool:
    """Whether a watermark on `column` can be filtered by PostgreSQL exactly as DuckDB would."""
    return column.pg_type.element is None and column.pg_type.base in _BOUND_TYPES


def watermark_predicate(
    mark: WatermarkFilter, transfers: Sequence[ReadTransfer]
) -> tuple[sql.Composable, dict[str, str]]:
    """(` WHERE "col" > <after> AND "col" <= <until>`, the session settings holding the bounds
    as text); nothing when the column's type is not `pushable`."""
    by_name = {t.name.lower(): t for t in transfers}
    column = by_name.get(mark.column.lower())
    if column is None:
        raise ValueError(f'the INCREMENTAL column "{mark.column}" is not in the source')
    if not pushable(column):
        return sql.SQL(""), {}
    base = column.pg_type.base
    col: sql.Composable = sql.Identifier(column.name)
    if base in _TEXT:
        col = sql.SQL('{} COLLATE "C"').format(col)
    cast = sql.Identifier("pg_catalog", _BOUND_TYPES[base])
    parts: list[sql.Composable] = []
    settings: dict[str, str] = {}
    bounds = (("after", mark.after, ">=" if mark.inclusive else ">"), ("until", mark.until, "<="))
    for name, value, op in bounds:
        if value is None:
            continue
        setting = f"sqlflowc.{name}"
        settings[setting] = _text(value)
        parts.append(
            sql.SQL("{} {} CAST(current_setting({}) AS {})").format(
                col, sql.SQL(op), sql.Literal(setting), cast
            )
        )
    if not parts:
        return sql.SQL(""), {}
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), settings


def _text(value: Any) -> str:
    """A bound as PostgreSQL reads it back exactly."""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same double
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
